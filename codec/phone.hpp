// Phone numbers: E.164 (+<country code><national number>) is the one form a number has past the
// edge of the system; this is the one check of it (libphonenumber's metadata).
#pragma once

#include <string_view>

namespace dispatcher {

// A valid number (by libphonenumber) already written in E.164: "+819012345678". What a message
// or subscriber record must carry.
bool valid_e164(std::string_view s);

// Only the written form: '+' then 2–15 digits, the first not 0. What a provider is handed is
// checked this cheaply (the number was validated when its message was parsed).
bool e164_form(std::string_view s);

}  // namespace dispatcher
