// Small pure helpers shared by the HTTP providers: Retry-After, form and URL encoding, JSON
// bodies read defensively, and the loopback test for plain-text URLs.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dispatcher::channels {

// Retry-After as delay-seconds or an HTTP-date (RFC 9110), relative to `now`; nullopt if absent
// or unreadable. A date in the past gives 0.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

// application/x-www-form-urlencoded, each name and value percent-encoded (codec/percent.hpp).
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

// The host of "scheme://[user@]host[:port]/…" (brackets removed from IPv6), lower-cased.
std::string url_host(std::string_view url);
// A base URL as configured, without the slashes a path will be appended after.
std::string without_trailing_slashes(std::string url);
std::string url_scheme(std::string_view url);
// 127.0.0.0/8, ::1, localhost.
bool is_loopback_host(std::string_view host);

}  // namespace dispatcher::channels
