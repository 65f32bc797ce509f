#include "codec/phone.hpp"

#include <gtest/gtest.h>
#include <phonenumbers/phonenumberutil.h>

#include <random>
#include <string>

TEST(Phone, ValidE164) {
  EXPECT_TRUE(dispatcher::valid_e164("+819012345678"));
  EXPECT_TRUE(dispatcher::valid_e164("+14155552671"));
  EXPECT_FALSE(dispatcher::valid_e164("+81901234"));
  EXPECT_FALSE(dispatcher::valid_e164("819012345678"));
  EXPECT_FALSE(dispatcher::valid_e164("09012345678"));
  EXPECT_FALSE(dispatcher::valid_e164("+0123"));
  EXPECT_FALSE(dispatcher::valid_e164("+8190123456789012"));
  EXPECT_FALSE(dispatcher::valid_e164("+81 90 1234 5678"));
}

// valid_e164 splits the country code itself instead of calling Parse(); it must agree with
// libphonenumber's own Parse + Format + IsValidNumber on every input.
TEST(Phone, E164Form) {
  EXPECT_TRUE(dispatcher::e164_form("+819012345678"));
  EXPECT_TRUE(dispatcher::e164_form("+81900000001"));  // the form only: not a valid number
  EXPECT_FALSE(dispatcher::e164_form("09012345678"));
  EXPECT_FALSE(dispatcher::e164_form("+0123"));
  EXPECT_FALSE(dispatcher::e164_form("+8190123456789012"));
}

TEST(Phone, FastPathAgreesWithLibphonenumber) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  auto reference = [util](const std::string& s) {
    if (s.size() < 8 || s.size() > 16 || s[0] != '+') return false;
    for (std::size_t i = 1; i < s.size(); ++i)
      if (s[i] < '0' || s[i] > '9') return false;
    PhoneNumber n;
    if (util->Parse(s, "ZZ", &n) != PhoneNumberUtil::NO_PARSING_ERROR) return false;
    std::string f;
    util->Format(n, PhoneNumberUtil::E164, &f);
    return f == s && util->IsValidNumber(n);
  };
  std::mt19937_64 rng(20261126);
  const char* prefixes[] = {"+81",   "+8190", "+8180", "+8170", "+813",  "+1",  "+44", "+447",
                            "+39",   "+390",  "+3906", "+86",   "+8613", "+49", "+7",  "+82",
                            "+8210", "+61",   "+6104", "+998",  "+0",    "+999"};
  int valid = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = prefixes[i % std::size(prefixes)];
    const std::size_t len = 7 + rng() % 10;
    while (s.size() < len) s += static_cast<char>('0' + rng() % 10);
    ASSERT_EQ(dispatcher::valid_e164(s), reference(s)) << s;
    valid += reference(s);
  }
  EXPECT_GT(valid, 1000) << "the sample must hold valid numbers too, or it proves little";
}

// What people write in Japan, read as the one form past the edge.
TEST(NormalizePhone, WrittenFormsBecomeE164) {
  const struct {
    const char* written;
    const char* e164;
  } cases[] = {
      {"090-1234-5678", "+819012345678"},
      {"09012345678", "+819012345678"},
      {"03-1234-5678", "+81312345678"},
      {"\uFF10\uFF19\uFF10\uFF0D\uFF11\uFF12\uFF13\uFF14\uFF0D\uFF15\uFF16\uFF17\uFF18",
       "+819012345678"},  // ０９０－１２３４－５６７８
      {"\uFF0B\uFF18\uFF11\u3000\uFF19\uFF10\u3000\uFF11\uFF12\uFF13\uFF14\u3000\uFF15\uFF16\uFF17"
       "\uFF18",
       "+819012345678"},  // ＋８１　９０　１２３４　５６７８
      {"090\u30FC1234\u30FC5678", "+819012345678"},  // the long mark ー for a hyphen
      {"090\u22121234\u20105678", "+819012345678"},  // minus sign, Unicode hyphen
      {"\uFF08\uFF10\uFF13\uFF09\uFF11\uFF12\uFF13\uFF14-5678", "+81312345678"},  // （０３）
      {"+81 90 1234 5678", "+819012345678"},
      {"+81-3-1234-5678", "+81312345678"},
      {"(03) 1234-5678", "+81312345678"},
      {" 090-1234-5678 ", "+819012345678"},
      {"+819012345678", "+819012345678"},  // already E.164: as is
      {"+14155552671", "+14155552671"},    // a foreign number in international form
      {"0120-123-456", "+81120123456"},    // toll-free
  };
  for (const auto& c : cases)
    EXPECT_EQ(dispatcher::normalize_phone(c.written, "JP"), std::optional<std::string>(c.e164))
        << c.written;
}

TEST(NormalizePhone, RefusesWhatIsNotAJapaneseValidNumber) {
  for (const char* bad : {
           "090-1234-567",        // one digit short
           "12345",               //
           "abc",                 //
           "+81 0000",            //
           "03-0000-0000",        // the form of a Tokyo number, but no such number
           "0312",                //
           "",                    //
           "090-1234-5678-9",     // one digit long
           "415-555-2671",        // a US number written nationally: not a number in JP
           "010-1-415-555-2671",  // dialled abroad from Japan: not how a contact is written
           "call 090-1234-5678",  // Parse would find the number in the sentence
           "090-1234-5678 ext. 12",
           "0120-ABC-DEF",  // keypad letters
           "+81+90-1234-5678",
           "９０９０９０９０９０９０９０９０９０９０９０９０９０９０",  // long and wrong
       })
    EXPECT_EQ(dispatcher::normalize_phone(bad, "JP"), std::nullopt) << bad;
  // National numbers are read in the region configured; an empty region reads none.
  EXPECT_EQ(dispatcher::normalize_phone("415-555-2671", "US"),
            std::optional<std::string>("+14155552671"));
  EXPECT_EQ(dispatcher::normalize_phone("090-1234-5678", "US"), std::nullopt);
  EXPECT_EQ(dispatcher::normalize_phone("090-1234-5678", ""), std::nullopt);
  EXPECT_EQ(dispatcher::normalize_phone("+81 90 1234 5678", ""),
            std::optional<std::string>("+819012345678"));
}

TEST(NormalizePhone, TheRefusalMasksTheNumber) {
  const std::string why = dispatcher::phone_refusal("090-1234-567", "JP");
  EXPECT_EQ(why, "phone number 09*-****-567 is not a valid number in JP");
  const std::string wide = dispatcher::phone_refusal(
      "\uFF10\uFF19\uFF10\uFF0D\uFF11\uFF12\uFF13\uFF14\uFF0D\uFF15\uFF16\uFF17", "JP");
  EXPECT_EQ(wide, why) << "full-width digits are masked as their ASCII forms";
  for (const std::string& s : {why, dispatcher::phone_refusal("09012345670000", "JP")}) {
    EXPECT_EQ(s.find("1234"), std::string::npos) << s;
    EXPECT_EQ(s.find("0901"), std::string::npos) << s;
  }
  const std::string odd = dispatcher::phone_refusal(std::string(70, 'x') + "\u30FC\u00E9", "JP");
  EXPECT_EQ(odd.find('\xC3'), std::string::npos) << "only ASCII: a cut never breaks UTF-8";
  EXPECT_EQ(dispatcher::phone_refusal("090\u00E91234", ""),
            "phone number 09*?**** is not a valid number in international (+) form");
}

TEST(NormalizePhone, TellsAWrittenNumberFromASubscriberId) {
  for (const char* n : {"090-1234-5678", "09012345678", "+819012345678", "(03) 1234-5678",
                        "\uFF10\uFF19\uFF10\uFF0D\uFF11\uFF12\uFF13\uFF14", "+81"})
    EXPECT_TRUE(dispatcher::written_as_phone(n)) << n;
  for (const char* n :
       {"m-123", "nm-77", "12345", "", "U4af4980629a1b2c3d4e5f60718293a4b", "taro@example.jp"})
    EXPECT_FALSE(dispatcher::written_as_phone(n)) << n;
}

TEST(NormalizePhone, KnowsTheRegionCodes) {
  EXPECT_TRUE(dispatcher::known_phone_region("JP"));
  EXPECT_TRUE(dispatcher::known_phone_region("US"));
  EXPECT_FALSE(dispatcher::known_phone_region("jp"));
  EXPECT_FALSE(dispatcher::known_phone_region("ZZ"));
  EXPECT_FALSE(dispatcher::known_phone_region("XX"));
  EXPECT_FALSE(dispatcher::known_phone_region("JPN"));
  EXPECT_FALSE(dispatcher::known_phone_region(""));
}
