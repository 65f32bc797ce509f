#include "templates/sms_count.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dispatcher::templates {
namespace {

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

void expect_count(std::string_view text, SmsEncoding encoding, std::size_t units,
                  std::size_t segments) {
  SmsCount c = count_sms(text);
  EXPECT_EQ(c.encoding, encoding) << text;
  EXPECT_EQ(c.units, units) << text;
  EXPECT_EQ(c.segments, segments) << text;
}

TEST(SmsCount, EmptyIsNoSegment) { expect_count("", SmsEncoding::gsm7, 0, 0); }

TEST(SmsCount, Gsm7Boundaries) {
  expect_count(repeat("a", 1), SmsEncoding::gsm7, 1, 1);
  expect_count(repeat("a", 160), SmsEncoding::gsm7, 160, 1);
  expect_count(repeat("a", 161), SmsEncoding::gsm7, 161, 2);
  expect_count(repeat("a", 306), SmsEncoding::gsm7, 306, 2);
  expect_count(repeat("a", 307), SmsEncoding::gsm7, 307, 3);
}

TEST(SmsCount, Gsm7BasicSetBeyondAscii) {
  expect_count("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0:;<=>?¡AZÄÖÑÜ§¿azäöñüà",
               SmsEncoding::gsm7, 70, 1);
}

TEST(SmsCount, ExtensionCharactersCountDouble) {
  expect_count("^{}\\[~]|€\f", SmsEncoding::gsm7, 20, 1);
  expect_count(repeat("€", 80), SmsEncoding::gsm7, 160, 1);
  expect_count(repeat("€", 81), SmsEncoding::gsm7, 162, 2);
  expect_count(repeat("a", 159) + "{", SmsEncoding::gsm7, 161, 2);
}

TEST(SmsCount, CharactersOutsideGsmSwitchToUcs2) {
  expect_count("a`b", SmsEncoding::ucs2, 3, 1);  // backtick is not in GSM 03.38
  expect_count("tab\t", SmsEncoding::ucs2, 4, 1);
  expect_count(repeat("a", 160) + "ç", SmsEncoding::ucs2, 161, 3);  // only Ç is GSM
}

TEST(SmsCount, JapaneseIsUcs2) {
  expect_count(repeat("あ", 70), SmsEncoding::ucs2, 70, 1);
  expect_count(repeat("あ", 71), SmsEncoding::ucs2, 71, 2);
  expect_count(repeat("予", 134), SmsEncoding::ucs2, 134, 2);
  expect_count(repeat("予", 135), SmsEncoding::ucs2, 135, 3);
  expect_count("山田様、明日10:00にご予約があります。", SmsEncoding::ucs2, 21, 1);
}

TEST(SmsCount, EmojiOutsideTheBmpIsTwoUnits) {
  expect_count("😀", SmsEncoding::ucs2, 2, 1);
  expect_count(repeat("😀", 35), SmsEncoding::ucs2, 70, 1);
  expect_count(repeat("😀", 35) + "a", SmsEncoding::ucs2, 71, 2);
  expect_count(repeat("😀", 67), SmsEncoding::ucs2, 134, 2);
  expect_count(repeat("😀", 67) + "あ", SmsEncoding::ucs2, 135, 3);
  expect_count(repeat("あ", 69) + "😀", SmsEncoding::ucs2, 71, 2);
}

TEST(SmsCount, MalformedUtf8CountsAsReplacementCharacters) {
  expect_count(std::string("a\xff"
                           "b"),
               SmsEncoding::ucs2, 3, 1);
}

}  // namespace
}  // namespace dispatcher::templates
