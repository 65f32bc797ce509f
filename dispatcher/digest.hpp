// The two byte-level helpers the dispatcher's keys, tokens and ids share: lower-case hex and
// HMAC-SHA256. One place, so every keyed hash is computed the same way.
#pragma once

#include <string>
#include <string_view>

namespace dispatcher {

std::string to_hex(std::string_view bytes);
std::string hmac_sha256(std::string_view key, std::string_view data);  // 32 raw bytes

}  // namespace dispatcher
