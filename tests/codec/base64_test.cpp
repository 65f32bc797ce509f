#include "codec/base64.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace dispatcher;

TEST(Base64, MatchesRfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode(""), "");
}

TEST(Base64, RoundTripsEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    const std::string bytes = all.substr(0, n);
    EXPECT_EQ(base64_decode(base64(bytes)), bytes) << n;
    EXPECT_EQ(base64url_decode(base64url(bytes)), bytes) << n;
  }
}

TEST(Base64, MalformedTextIsRefusedNotGuessed) {
  EXPECT_FALSE(base64_decode("===="));  // once answered 500 in HTTP Basic
  EXPECT_FALSE(base64_decode("Zg="));
  EXPECT_FALSE(base64_decode("Z g="));
  EXPECT_FALSE(base64_decode("Zm9v\r\n"));
  EXPECT_FALSE(base64_decode("Zm=v"));
}

TEST(Base64Url, UsesTheUrlAlphabetWithoutPadding) {
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), "\xfb\xff");
  EXPECT_FALSE(base64url_decode("+/8"));
  EXPECT_FALSE(base64url_decode("-_8="));
}

TEST(Base64Url, OnlyTheCanonicalSpellingDecodes) {
  // "Zg" is "f"; "Zh" carries the same byte with a non-zero unused bit.
  EXPECT_EQ(base64url_decode("Zg"), "f");
  EXPECT_FALSE(base64url_decode("Zh"));
  EXPECT_FALSE(base64url_decode("Z"));
}
