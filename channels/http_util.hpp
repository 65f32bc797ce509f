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
std::string url_scheme(std::string_view url);
// 127.0.0.0/8, ::1, localhost.
bool is_loopback_host(std::string_view host);

// Text from a provider with personal data masked, for Outcome.error and logs: any word holding
// an '@' becomes "<address>", any run of 7 or more digits (phone numbers) "<number>"; at most
// `max` bytes.
std::string redact(std::string_view text, std::size_t max = 200);

// E.164: '+' then 2–15 digits, the first not 0.
bool is_e164(std::string_view number);

}  // namespace dispatcher::channels
