// SMS length as the network counts it (3GPP TS 23.038): GSM 03.38 default alphabet with its
// extension table when every character fits, else UCS-2 (UTF-16 code units).
#include "templates/sms_count.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace dispatcher::templates {
namespace {

// The GSM 03.38 basic character set (outside ASCII's printable range), as code points.
constexpr std::array<char32_t, 39> gsm_basic_non_ascii{
    U'£', U'¥', U'è', U'é', U'ù', U'ì', U'ò', U'Ç', U'Ø', U'ø', U'Å', U'å', U'Δ',
    U'Φ', U'Γ', U'Λ', U'Ω', U'Π', U'Ψ', U'Σ', U'Θ', U'Ξ', U'Æ', U'æ', U'ß', U'É',
    U'¤', U'¡', U'Ä', U'Ö', U'Ñ', U'Ü', U'§', U'¿', U'ä', U'ö', U'ñ', U'ü', U'à',
};

// 0 when not in GSM 03.38, 1 for the basic set, 2 for the extension table (escape + char).
int gsm_septets(char32_t c) {
  if (c == U'\n' || c == U'\r') return 1;
  if (c == U'\f') return 2;
  if (c >= 0x20 && c < 0x7F) {
    switch (c) {
      case U'^':
      case U'{':
      case U'}':
      case U'\\':
      case U'[':
      case U'~':
      case U']':
      case U'|':
        return 2;
      case U'`':
        return 0;  // not in the GSM alphabet
      default:
        return 1;
    }
  }
  if (c == U'€') return 2;
  if (std::find(gsm_basic_non_ascii.begin(), gsm_basic_non_ascii.end(), c) !=
      gsm_basic_non_ascii.end())
    return 1;
  return 0;
}

// Decodes one UTF-8 sequence at s[i]; malformed input yields U+FFFD and advances one byte.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  std::size_t len = b0 >= 0xF0 && b0 <= 0xF4   ? 4
                    : b0 >= 0xE0               ? 3
                    : b0 >= 0xC2 && b0 <= 0xDF ? 2
                                               : 0;
  if (len == 0 || b0 > 0xF4 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = b0 & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (std::size_t k = 1; k < len; ++k) {
    unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return 0xFFFD;
  }
  i += len;
  return cp;
}

std::size_t segments_for(std::size_t units, std::size_t single, std::size_t multi) {
  if (units == 0) return 0;
  if (units <= single) return 1;
  return (units + multi - 1) / multi;
}

}  // namespace

SmsCount count_sms(std::string_view utf8) {
  std::size_t septets = 0, utf16 = 0;
  bool gsm = true;
  for (std::size_t i = 0; i < utf8.size();) {
    char32_t cp = next_code_point(utf8, i);
    utf16 += cp >= 0x10000 ? 2 : 1;
    if (gsm) {
      int n = gsm_septets(cp);
      if (n == 0) gsm = false;
      septets += static_cast<std::size_t>(n);
    }
  }
  SmsCount c;
  if (gsm) {
    c.encoding = SmsEncoding::gsm7;
    c.units = septets;
    c.segments = segments_for(septets, 160, 153);
  } else {
    c.encoding = SmsEncoding::ucs2;
    c.units = utf16;
    c.segments = segments_for(utf16, 70, 67);
  }
  return c;
}

}  // namespace dispatcher::templates
