// Masking of personal data in text that leaves the process, in one place. Two policies, for
// two kinds of text: log lines keep enough of an address or number to tell two apart in an
// incident (mask_personal); a provider's reply, which is stored (audit, dead letters) and may
// quote the recipient, loses every address and long digit run (redact).
#pragma once

#include <string>
#include <string_view>

namespace dispatcher {

// "taro.yamada@example.jp" → "t**********@example.jp"; "+819012345678" → "+81*******678".
std::string mask_personal(std::string_view line);

// A value known to be a phone number, as written (ASCII), for an error detail: of its digits
// only the first two stay, and the last three when there are eight or more, which is the rule
// mask_personal applies to a number in a line. "090-1234-567" → "09*-****-567",
// "+81 0000" → "+81 ****". Other characters stay.
std::string mask_phone(std::string_view written);

// Text from a provider with personal data masked, for Outcome.error and logs: any word holding
// an '@' becomes "<address>", any run of 7 or more digits (phone numbers) "<number>"; at most
// `max` bytes.
std::string redact(std::string_view text, std::size_t max = 200);

}  // namespace dispatcher
