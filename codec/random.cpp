#include "codec/random.hpp"

#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

#include "codec/hex.hpp"

namespace dispatcher {

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("no randomness from OpenSSL");
  return to_hex({reinterpret_cast<const char*>(buf.data()), bytes});
}

}  // namespace dispatcher
