// Errors on the event loop are values: std::error_code, in categories of the project's own
// (curl's in channels/, Redis's in store/). Each such category says what kind of failure a
// code is, and the kind alone decides what happens next: network, timeout and server failures
// are tried again later; client failures (our request or our configuration is wrong) are not.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace dispatcher {

// network: could not reach / lost the peer; timeout: no answer in time;
// client: our request or our configuration is wrong (4xx, TLS verify, login);
// server: the peer failed (5xx, garbage, too large).
enum class ErrorKind : std::uint8_t { none, network, timeout, client, server };
std::string_view to_string(ErrorKind k) noexcept;

// The base of the project's error categories: each code knows its kind.
class KindedCategory : public std::error_category {
 public:
  virtual ErrorKind kind(int code) const noexcept = 0;
};

// none for success; the category's kind for ours; server for a foreign category (an error we
// did not foresee is treated as the peer's fault, so it is retried, never silently dropped).
ErrorKind kind_of(const std::error_code& ec) noexcept;
// Whether trying again later can help.
inline bool retryable(ErrorKind k) noexcept {
  return k == ErrorKind::network || k == ErrorKind::timeout || k == ErrorKind::server;
}

}  // namespace dispatcher
