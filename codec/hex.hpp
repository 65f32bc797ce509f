// Hex, the one encoder of bytes as hex digits: keys, ids, hashes and token references.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dispatcher {

std::string to_hex(std::string_view bytes);  // lower case
// The bytes of an even-length run of hex digits (either case); nullopt otherwise.
std::optional<std::string> from_hex(std::string_view hex);
// The value of one hex digit (either case), or -1.
int hex_digit_value(char c);

}  // namespace dispatcher
