// Pure helpers every route family of the HTTP surface shares: form bodies, targets and path
// segments, JSON nesting, hashing and randomness for keys and ids, HTML escaping. No I/O; each
// has a unit test.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/hmac.hpp"        // constant_time_equal, for the signature checks
#include "model/json_depth.hpp"  // json_too_deep, for every JSON body

namespace dispatcher::web {

// application/x-www-form-urlencoded: '+' is a space, %XX decoded. nullopt on a bad escape.
std::optional<std::string> url_decode(std::string_view s);
// A path segment: %XX decoded, '+' stays '+' (as in E.164 numbers). nullopt on a bad escape.
std::optional<std::string> path_decode(std::string_view s);
// Pairs in body order (a key may repeat, as checkboxes do). nullopt when malformed.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view body);
// Splits "/path?query" into the path and its decoded query parameters (last one wins).
std::pair<std::string, std::map<std::string, std::string>> split_target(std::string_view target);

std::string sha256_hex(std::string_view data);

std::string html_escape(std::string_view s);

}  // namespace dispatcher::web
