// Keyed hashes and digests (OpenSSL), one place, so every keyed hash is computed the same way.
#pragma once

#include <string>
#include <string_view>

namespace dispatcher {

std::string hmac_sha256(std::string_view key, std::string_view data);  // 32 raw bytes
std::string hmac_sha1(std::string_view key,
                      std::string_view data);  // 20 raw bytes (Twilio's signature)
std::string sha256(std::string_view data);     // 32 raw bytes
// Equal length and contents, in time that does not depend on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace dispatcher
