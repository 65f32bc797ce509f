// Random identifiers and keys, from the OS's CSPRNG (OpenSSL RAND_bytes): API keys, request
// ids, webhook event ids, the hot state's generation. Written once.
#pragma once

#include <cstddef>
#include <string>

namespace dispatcher {

// `bytes` random bytes as lower-case hex (twice as many digits). Throws std::runtime_error in the
// unheard-of case that OpenSSL has no randomness to give.
std::string random_hex(std::size_t bytes);

}  // namespace dispatcher
