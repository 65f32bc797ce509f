#include "channels/push/jwt.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dispatcher::channels::push {
namespace {

TEST(Jwt, DerToRawPadsToThirtyTwoBytes) {
  // SEQUENCE { INTEGER 0x01, INTEGER 0x00ff.. (33 bytes with sign pad) }
  std::string der = std::string("\x30\x26\x02\x01\x01\x02\x21\x00", 8) + std::string(32, '\xff');
  der[1] = static_cast<char>(der.size() - 2);
  const std::string raw = der_to_raw_p256(der);
  ASSERT_EQ(raw.size(), 64u);
  EXPECT_EQ(raw.substr(0, 31), std::string(31, '\0'));
  EXPECT_EQ(raw[31], '\x01');
  EXPECT_EQ(raw.substr(32), std::string(32, '\xff'));
}

}  // namespace
}  // namespace dispatcher::channels::push
