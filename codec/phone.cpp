#include "codec/phone.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>

namespace dispatcher {

bool valid_e164(std::string_view s) {
  if (s.size() < 8 || s.size() > 16 || s[0] != '+') return false;
  if (!std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  // Already digits after '+': split off the country code ourselves (codes are prefix-free) and
  // skip Parse(), which costs about three times IsValidNumber() and showed at the top of the
  // consumer's profile. A national part with a leading zero (Italy …) takes the general path.
  if (s[1] == '0') return false;  // no country code starts with 0
  for (std::size_t len = 1; len <= 3 && len + 1 < s.size(); ++len) {
    const int cc = std::stoi(std::string(s.substr(1, len)));
    std::string region;
    util->GetRegionCodeForCountryCode(cc, &region);
    if (region == "ZZ") continue;
    const std::string_view national = s.substr(1 + len);
    if (national.front() == '0') break;
    PhoneNumber number;
    number.set_country_code(cc);
    number.set_national_number(std::stoull(std::string(national)));
    return util->IsValidNumber(number);
  }
  PhoneNumber number;
  if (util->Parse(std::string(s), "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR) return false;
  std::string formatted;
  util->Format(number, PhoneNumberUtil::E164, &formatted);
  return formatted == s && util->IsValidNumber(number);
}

bool e164_form(std::string_view n) {
  if (n.size() < 3 || n.size() > 16 || n[0] != '+' || n[1] == '0') return false;
  return std::all_of(n.begin() + 1, n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace dispatcher
