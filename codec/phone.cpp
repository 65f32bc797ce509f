#include "codec/phone.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <array>

#include "codec/mask.hpp"

namespace dispatcher {

namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Longer than any number written with separators in full-width forms (3 bytes a character).
constexpr std::size_t max_written = 64;

struct Fold {
  std::string_view utf8;
  char ascii;
};
// What people type for digits, plus, dashes, spaces and parentheses in Japanese text, read as
// ASCII. NFKC would give most of these, but not the dashes (‐ – — ― −) or the katakana long
// mark ー that Japanese input methods produce for a hyphen; a table says exactly what is read.
constexpr std::array<Fold, 25> folds{{
    {"\uFF10", '0'}, {"\uFF11", '1'}, {"\uFF12", '2'}, {"\uFF13", '3'}, {"\uFF14", '4'},
    {"\uFF15", '5'}, {"\uFF16", '6'}, {"\uFF17", '7'}, {"\uFF18", '8'}, {"\uFF19", '9'},
    {"\uFF0B", '+'}, {"\uFF0D", '-'}, {"\u2010", '-'}, {"\u2011", '-'}, {"\u2012", '-'},
    {"\u2013", '-'}, {"\u2014", '-'}, {"\u2015", '-'}, {"\u2212", '-'}, {"\u30FC", '-'},
    {"\uFE63", '-'}, {"\u3000", ' '}, {"\uFF08", '('}, {"\uFF09", ')'}, {"\u00A0", ' '},
}};

// `s` with the forms above in ASCII; non-ASCII bytes that are none of them stay as they are.
std::string fold(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      out += s[i++];
      continue;
    }
    const auto f = std::find_if(folds.begin(), folds.end(), [&](const Fold& f) {
      return s.substr(i, f.utf8.size()) == f.utf8;
    });
    if (f == folds.end()) {
      out += s[i++];
    } else {
      out += f->ascii;
      i += f->utf8.size();
    }
  }
  return out;
}

// Only digits, one '+' before any digit, '-', spaces and parentheses, and at least one digit.
bool phone_characters(std::string_view s) {
  bool digit = false, plus = false;
  for (char c : s) {
    if (is_digit(c)) {
      digit = true;
    } else if (c == '+') {
      if (plus || digit) return false;
      plus = true;
    } else if (c != '-' && c != ' ' && c != '(' && c != ')') {
      return false;
    }
  }
  return digit;
}

char first_significant(std::string_view s) {
  for (char c : s)
    if (c == '+' || is_digit(c)) return c;
  return 0;
}

}  // namespace

bool valid_e164(std::string_view s) {
  if (s.size() < 8 || s.size() > 16 || s[0] != '+') return false;
  if (!std::all_of(s.begin() + 1, s.end(), is_digit)) return false;
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
  return std::all_of(n.begin() + 1, n.end(), is_digit);
}

std::optional<std::string> normalize_phone(std::string_view written, std::string_view region) {
  if (valid_e164(written)) return std::string(written);
  if (written.size() > max_written) return std::nullopt;
  const std::string ascii = fold(written);
  // libphonenumber's Parse finds a number inside any text ("call 090-… now") and reads letters
  // as keypad digits; what it is given here is only a number.
  if (!phone_characters(ascii)) return std::nullopt;
  const bool international = first_significant(ascii) == '+';
  if (!international && region.empty()) return std::nullopt;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  const std::string region_code = international ? "ZZ" : std::string(region);
  PhoneNumber number;
  if (util->Parse(ascii, region_code, &number) != PhoneNumberUtil::NO_PARSING_ERROR)
    return std::nullopt;
  if (number.has_extension() || !util->IsValidNumber(number)) return std::nullopt;
  // A national number is the region's: "010 1 415 …" (Japan's international prefix) is a
  // foreign number written as dialled, not as people write a contact's number.
  if (!international && !util->IsValidNumberForRegion(number, region_code)) return std::nullopt;
  std::string e164;
  util->Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

bool written_as_phone(std::string_view s) {
  if (s.empty() || s.size() > max_written) return false;
  const std::string ascii = fold(s);
  const char first = first_significant(ascii);
  return phone_characters(ascii) && (first == '+' || first == '0');
}

std::string phone_refusal(std::string_view written, std::string_view region) {
  // ASCII only, so that a cut (or a foreign script) never puts broken UTF-8 into a JSON reply:
  // each other character shows as one '?'.
  std::string shown;
  for (char c : fold(written.substr(0, max_written))) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80)
      shown += c;
    else if ((u & 0xC0) != 0x80)
      shown += '?';
  }
  if (written.size() > max_written) shown += "...";
  return "phone number " + mask_phone(shown) + " is not a valid number" +
         (region.empty() ? std::string(" in international (+) form")
                         : " in " + std::string(region));
}

bool known_phone_region(std::string_view region) {
  if (region.size() != 2 ||
      !std::all_of(region.begin(), region.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
    return false;
  // 0 for a code libphonenumber has no metadata for (and for "ZZ", "unknown").
  return PhoneNumberUtil::GetInstance()->GetCountryCodeForRegion(std::string(region)) != 0;
}

}  // namespace dispatcher
