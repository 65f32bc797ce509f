// Phone numbers: E.164 (+<country code><national number>) is the one form a number has past the
// edge of the system. People write numbers otherwise ("090-1234-5678", full-width digits); the
// edge turns them into E.164 here, once, with libphonenumber's metadata.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dispatcher {

// A valid number (by libphonenumber) already written in E.164: "+819012345678". What a message
// or subscriber record carries once parsed.
bool valid_e164(std::string_view s);

// Only the written form: '+' then 2–15 digits, the first not 0. What a provider is handed is
// checked this cheaply (the number was validated when its message was parsed).
bool e164_form(std::string_view s);

// A number as people write it, in E.164, or nullopt when it is not a valid number:
//   "090-1234-5678", "09012345678", "(03) 1234-5678", "０９０－１２３４－５６７８",
//   "+81 90 1234 5678", "+81-3-1234-5678"  →  "+819012345678", "+81312345678" …
// Full-width digits, plus and parentheses, the dashes people type (‐ – — − ー －) and the
// ideographic space are read as their ASCII forms; beyond those only digits, one leading '+',
// '-', spaces and parentheses are allowed (no letters, no extensions). A national number (no
// '+') is read in `region` (ISO 3166 code, "JP") and must be valid there; an empty region
// takes international (+) numbers only. Input already valid E.164 is returned as is, without
// libphonenumber's Parse (a third of the cost, and the consumer's common case).
std::optional<std::string> normalize_phone(std::string_view written, std::string_view region);

// Whether `s` is written as a phone number rather than as a name: only the characters
// normalize_phone reads, starting with '+' or with a trunk 0 ("090-…", "(03) …"). How a subject
// named by a person is told from a subscriber id (so an id of digits starting with 0 reads as a
// number).
bool written_as_phone(std::string_view s);

// Why `written` was refused, for an error detail, with the number masked (codec/mask.hpp):
// "phone number 09*-****-567 is not a valid number in JP".
std::string phone_refusal(std::string_view written, std::string_view region);

// Whether libphonenumber knows `region` as a region code (upper case: "JP", "US").
bool known_phone_region(std::string_view region);

}  // namespace dispatcher
