#include "codec/percent.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dispatcher {
namespace {

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

TEST(Percent, UnreservedIsExactlyRfc3986sSet) {
  const std::string unreserved =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
  int kept = 0;
  for (int c = 0; c < 256; ++c) {
    const bool expected = unreserved.find(static_cast<char>(c)) != std::string::npos;
    EXPECT_EQ(is_unreserved(static_cast<unsigned char>(c)), expected) << "byte " << c;
    kept += is_unreserved(static_cast<unsigned char>(c));
  }
  EXPECT_EQ(kept, 66);
  EXPECT_EQ(percent_encode(unreserved), unreserved);
}

TEST(Percent, EveryOtherByteBecomesUpperCaseHex) {
  static constexpr char digits[] = "0123456789ABCDEF";
  for (int c = 0; c < 256; ++c) {
    const auto byte = static_cast<unsigned char>(c);
    if (is_unreserved(byte)) continue;
    const std::string in(1, static_cast<char>(byte));
    EXPECT_EQ(percent_encode(in), std::string({'%', digits[c >> 4], digits[c & 15]}))
        << "byte " << c;
  }
  EXPECT_EQ(percent_encode(std::string("\0", 1)), "%00");
  EXPECT_EQ(percent_encode("100%"), "100%25");
  EXPECT_EQ(percent_encode(""), "");
}

TEST(Percent, EveryByteRoundTrips) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  const std::string encoded = percent_encode(all);
  EXPECT_EQ(encoded.find(' '), std::string::npos);
  EXPECT_EQ(encoded.find('+'), std::string::npos);
  EXPECT_EQ(percent_decode(encoded, false), all);
  EXPECT_EQ(percent_decode(encoded, true), all) << "an encoded '+' is %2B, never a space";
}

TEST(Percent, DecodesEitherCaseOfHex) {
  EXPECT_EQ(percent_decode("%c3%bc%C3%BC", false), "üü");
  EXPECT_EQ(percent_decode("%2b", true), "+") << "only a literal '+' is a space";
  EXPECT_EQ(percent_decode("%00", false), std::string("\0", 1));
  EXPECT_EQ(percent_decode("", false), "");
  EXPECT_EQ(percent_decode("plain-text_~.", false), "plain-text_~.");
  EXPECT_EQ(percent_decode("++", true), "  ");
}

TEST(Percent, MalformedEscapesAreRefusedWherever) {
  for (const char* bad :
       {"%", "a%", "ab%4", "%4", "%%", "%%41", "%g0", "%0g", "% 1", "a%2Xb", "%-1", "ok%2"}) {
    EXPECT_FALSE(percent_decode(bad, false)) << bad;
    EXPECT_FALSE(percent_decode(bad, true)) << bad;
  }
  EXPECT_EQ(percent_decode("%41%", false), std::nullopt) << "a good escape before a cut one";
  EXPECT_EQ(percent_decode("%41", false), "A") << "an escape that ends the input";
}

TEST(Percent, CallersRuleSeesThePositionInTheOutput) {
  // The position passed is where the byte would land in the output, after earlier escapes.
  auto keep_first_three = [](unsigned char, std::size_t pos) { return pos < 3; };
  EXPECT_EQ(percent_encode("abcdef", keep_first_three), "abc%64%65%66");
  // Input positions would keep "abc" here; in the output 'a' lands at 3, 'b' at 4.
  auto no_space_before_four = [](unsigned char c, std::size_t pos) { return c != ' ' && pos < 4; };
  EXPECT_EQ(percent_encode(" abc", no_space_before_four), "%20a%62%63");
  auto keep_all = [](unsigned char, std::size_t) { return true; };
  EXPECT_EQ(percent_encode("a b/ü", keep_all), "a b/ü");
  auto keep_none = [](unsigned char, std::size_t) { return false; };
  EXPECT_EQ(percent_encode("ab", keep_none), "%61%62");
}

}  // namespace
}  // namespace dispatcher
