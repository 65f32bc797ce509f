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
