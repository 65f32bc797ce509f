// Masking of personal data in text that leaves the process (logs, error lines): e-mail local
// parts and phone numbers are starred, keeping enough to tell two apart in an incident.
#pragma once

#include <string>
#include <string_view>

namespace dispatcher {

// "taro.yamada@example.jp" → "t**********@example.jp"; "+819012345678" → "+81*******678".
std::string mask_personal(std::string_view line);

}  // namespace dispatcher
