// Percent-encoding (RFC 3986 §2.1), upper-case hex: URLs, form bodies and file names.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dispatcher {

// RFC 3986's unreserved characters: ALPHA / DIGIT / "-" / "." / "_" / "~".
bool is_unreserved(unsigned char c);
// Every byte for which `keep(byte, position_in_output)` is false becomes %XX.
std::string percent_encode(std::string_view s, bool (*keep)(unsigned char c, std::size_t out_pos));
inline std::string percent_encode(std::string_view s) {
  return percent_encode(s, [](unsigned char c, std::size_t) { return is_unreserved(c); });
}
// %XX decoded; with `plus_is_space` (application/x-www-form-urlencoded) '+' is a space.
// nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

}  // namespace dispatcher
