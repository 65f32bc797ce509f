#include "codec/hex.hpp"

#include <gtest/gtest.h>

#include "codec/percent.hpp"

using namespace dispatcher;

TEST(Hex, EncodesLowerAndDecodesEitherCase) {
  EXPECT_EQ(to_hex(std::string("\x00\x0f\xa5\xff", 4)), "000fa5ff");
  EXPECT_EQ(from_hex("000FA5ff"), std::string("\x00\x0f\xa5\xff", 4));
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
}

TEST(Percent, EncodesAllButUnreservedAndDecodesStrictly) {
  EXPECT_EQ(percent_encode("a b+c/ü~"), "a%20b%2Bc%2F%C3%BC~");
  EXPECT_EQ(percent_decode("a%20b+c", true), "a b c");
  EXPECT_EQ(percent_decode("a%20b+c", false), "a b+c");
  EXPECT_FALSE(percent_decode("%2", false));
  EXPECT_FALSE(percent_decode("%zz", false));
  // A caller's own rule: keep dots except in front.
  EXPECT_EQ(
      percent_encode(".a.b", [](unsigned char c, std::size_t pos) { return c != '.' || pos > 0; }),
      "%2Ea.b");
}
