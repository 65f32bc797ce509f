// Shared pieces of the HTTP providers' outcome mapping.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <string>

#include "channels/curl/multi.hpp"
#include "channels/http_util.hpp"
#include "channels/provider.hpp"

namespace dispatcher::channels {

// A transfer that got no HTTP answer (connect, TLS, timeout, size cap): transient.
inline Outcome transport_failure(const curl::Response& r) {
  Outcome o;
  o.kind = OutcomeKind::transient;
  o.error = std::string(to_string(r.kind)) +
            " error: " + (r.error_text.empty() ? "no response" : r.error_text);
  return o;
}

inline Outcome transient_http(const curl::Response& r, std::string what,
                              std::chrono::system_clock::time_point now) {
  Outcome o;
  o.kind = OutcomeKind::transient;
  o.error = std::move(what) + " (HTTP " + std::to_string(r.status) + ")";
  if (auto ra = r.header("retry-after")) o.retry_after = parse_retry_after(*ra, now);
  return o;
}

inline Outcome permanent(std::string what, bool suppress = false) {
  Outcome o;
  o.kind = OutcomeKind::permanent;
  o.error = std::move(what);
  o.suppress_address = suppress;
  return o;
}

// Calls `done` with `o` from the loop, never inline (Completion is always asynchronous).
inline void complete_later(boost::asio::io_context& io, Completion done, Outcome o) {
  boost::asio::post(io,
                    [done = std::move(done), o = std::move(o)]() mutable { done(std::move(o)); });
}

}  // namespace dispatcher::channels
