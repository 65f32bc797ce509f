// What went wrong on the wire, as a value: an error kind that decides retry or dead-letter,
// and a std::error_code category wrapping libcurl's CURLcode.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <string_view>
#include <system_error>

#include "config/error_kind.hpp"

namespace dispatcher::channels {

// libcurl's CURLcode as a std::error_code; its kind is classify() of the code.
const KindedCategory& curl_category() noexcept;
inline std::error_code make_error_code(CURLcode c) noexcept {
  return {static_cast<int>(c), curl_category()};
}

// The channels' own failures that are not curl's: a configured key that cannot sign. All of
// kind client (our configuration), so a send that meets one fails for good, never retried.
enum class Errc {
  key_cannot_sign = 1,  // the key type cannot sign with SHA-256
  signing_failed,       // OpenSSL refused to sign
  es256_needs_p256,     // an ES256 token from a key that is not P-256
};
const KindedCategory& channels_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), channels_category()};
}

// The kind of a transport-level failure (CURLE_OK → none).
ErrorKind classify(CURLcode c) noexcept;
// The kind of an HTTP status (2xx/3xx → none, 4xx client, 5xx server).
ErrorKind classify_http(long status) noexcept;

}  // namespace dispatcher::channels

template <>
struct std::is_error_code_enum<dispatcher::channels::Errc> : std::true_type {};
