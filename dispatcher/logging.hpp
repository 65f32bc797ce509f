// Logging: spdlog to stderr, one line per event, with e-mail addresses and phone numbers
// masked by the sink itself, so no call site can leak one by mistake.
#pragma once

#include <string>
#include <string_view>

namespace dispatcher {

// "taro@example.jp" → "t***@example.jp", "+819012345678" → "+81*******678".
std::string mask_personal(std::string_view line);

void setup_logging(const std::string& level);

}  // namespace dispatcher
