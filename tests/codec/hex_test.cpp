#include "codec/hex.hpp"

#include <gtest/gtest.h>

using namespace dispatcher;

TEST(Hex, EncodesLowerAndDecodesEitherCase) {
  EXPECT_EQ(to_hex(std::string("\x00\x0f\xa5\xff", 4)), "000fa5ff");
  EXPECT_EQ(from_hex("000FA5ff"), std::string("\x00\x0f\xa5\xff", 4));
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
}
