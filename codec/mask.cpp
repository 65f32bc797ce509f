#include "codec/mask.hpp"

#include <algorithm>
#include <cctype>

namespace dispatcher {

namespace {

bool is_local_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '+' || c == '-' || c == '%';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// How many leading and trailing digits of a number stay readable: enough to tell two apart in
// an incident, too few to call anyone.
constexpr std::size_t kept_head = 2, kept_tail = 3, min_digits_for_tail = 8;

}  // namespace

std::string mask_phone(std::string_view written) {
  std::string out(written);
  const auto digits = static_cast<std::size_t>(std::count_if(out.begin(), out.end(), is_digit));
  const std::size_t tail = digits >= min_digits_for_tail ? kept_tail : 0;
  std::size_t seen = 0;
  for (char& c : out) {
    if (!is_digit(c)) continue;
    if (seen >= kept_head && seen < digits - tail) c = '*';
    ++seen;
  }
  return out;
}

std::string mask_personal(std::string_view in) {
  std::string out(in);
  // E-mail: keep the first character of the local part and the domain.
  for (std::size_t at = out.find('@'); at != std::string::npos; at = out.find('@', at + 1)) {
    std::size_t start = at;
    while (start > 0 && is_local_char(out[start - 1])) --start;
    if (start == at || at + 1 >= out.size() ||
        !std::isalnum(static_cast<unsigned char>(out[at + 1])))
      continue;
    for (std::size_t i = start + 1; i < at; ++i) out[i] = '*';
  }
  // Phone: +<8 or more digits>, or a domestic 0XXXXXXXXX(X), keeps its first 2 and last 3 digits.
  for (std::size_t i = 0; i < out.size();) {
    if (!is_digit(out[i]) ||
        (i > 0 && (is_digit(out[i - 1]) || std::isalpha(static_cast<unsigned char>(out[i - 1]))))) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < out.size() && is_digit(out[j])) ++j;
    const bool plus = i > 0 && out[i - 1] == '+';
    if (j - i >= min_digits_for_tail && (plus || ((j - i == 10 || j - i == 11) && out[i] == '0')))
      out.replace(i, j - i, mask_phone(std::string_view(out).substr(i, j - i)));
    i = j;
  }
  return out;
}

std::string redact(std::string_view text, std::size_t max) {
  std::string out;
  std::size_t i = 0;
  auto is_sep = [](char c) {
    return c == ' ' || c == '\t' || c == ',' || c == ';' || c == '"' || c == '\'';
  };
  while (i < text.size() && out.size() < max) {
    if (is_sep(text[i])) {
      out += text[i++];
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && !is_sep(text[j])) ++j;
    std::string_view word = text.substr(i, j - i);
    if (word.find('@') != std::string_view::npos) {
      out += "<address>";
    } else {
      std::size_t k = 0;
      while (k < word.size()) {
        if (std::isdigit(static_cast<unsigned char>(word[k]))) {
          std::size_t e = k;
          while (e < word.size() && std::isdigit(static_cast<unsigned char>(word[e]))) ++e;
          if (e - k >= 7) {
            if (!out.empty() && out.back() == '+') out.pop_back();
            out += "<number>";
          } else {
            out.append(word.substr(k, e - k));
          }
          k = e;
        } else {
          out += word[k++];
        }
      }
    }
    i = j;
  }
  if (out.size() > max) out.resize(max);
  return out;
}

}  // namespace dispatcher
