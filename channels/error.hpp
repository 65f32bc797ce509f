// What went wrong on the wire, as a value: an error kind that decides retry or dead-letter,
// and a std::error_code category wrapping libcurl's CURLcode.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <string_view>
#include <system_error>

namespace dispatcher::channels {

// network: could not reach / lost the peer; timeout: no answer in time;
// client: our request or our configuration is wrong (4xx, TLS verify, login);
// server: the peer failed (5xx, garbage, too large).
enum class ErrorKind : std::uint8_t { none, network, timeout, client, server };
std::string_view to_string(ErrorKind k) noexcept;

const std::error_category& curl_category() noexcept;
inline std::error_code make_error_code(CURLcode c) noexcept {
  return {static_cast<int>(c), curl_category()};
}

// The kind of a transport-level failure (CURLE_OK → none).
ErrorKind classify(CURLcode c) noexcept;
// The kind of an HTTP status (2xx/3xx → none, 4xx client, 5xx server).
ErrorKind classify_http(long status) noexcept;

}  // namespace dispatcher::channels
