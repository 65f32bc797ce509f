// How many characters and segments an SMS takes on the network (GSM 03.38 or UCS-2).
#pragma once

#include <cstddef>
#include <string_view>

namespace dispatcher::templates {

enum class SmsEncoding { gsm7, ucs2 };
constexpr std::string_view to_string(SmsEncoding e) {
  return e == SmsEncoding::gsm7 ? "GSM-7" : "UCS-2";
}

struct SmsCount {
  SmsEncoding encoding = SmsEncoding::gsm7;
  std::size_t units = 0;     // septets (extension characters count 2) or UTF-16 code units
  std::size_t segments = 0;  // 1 up to 160/70 units, else ceil(units / 153 or 67); 0 for ""
};

SmsCount count_sms(std::string_view utf8);

}  // namespace dispatcher::templates
