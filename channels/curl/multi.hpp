// The one async HTTP/SMTP engine: libcurl's multi interface driven by a boost::asio::io_context.
//
// curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to wake
// (CURLMOPT_TIMERFUNCTION); Asio waits on them and calls curl_multi_socket_action, and every
// action is followed by draining curl_multi_info_read. Sockets are opened and closed by Asio
// (CURLOPT_OPENSOCKETFUNCTION / CLOSESOCKETFUNCTION), so curl never closes a descriptor Asio still
// watches. Connections live in the multi handle's cache and are reused across requests; HTTP/2
// streams are multiplexed (CURLPIPE_MULTIPLEX). Nothing blocks the loop and nothing polls.
//
// All calls and all completions happen on the io_context's thread (run it from one thread).
#pragma once

#include <curl/curl.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "channels/error.hpp"

namespace dispatcher::channels::curl {

struct Request {
  std::string url;                   // http(s)://… or smtp(s)://…
  std::string method = "POST";       // HTTP: "GET" or "POST" (body sent for POST)
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // HTTP request body, or the whole RFC 5322 message for SMTP
  std::string username, password;    // HTTP basic auth / SMTP AUTH (empty: none)
  std::string ca_file;  // trust these CAs instead of the system's (tests' self-signed CA)
  std::chrono::milliseconds timeout{10'000};
  std::chrono::milliseconds connect_timeout{5'000};
  std::size_t max_response_bytes = 1 << 20;  // a larger body fails the request (kind server)
  bool http2 = false;                        // require HTTP/2 over TLS (APNs); wait to multiplex
  // SMTP only
  std::string mail_from;
  std::vector<std::string> mail_rcpt;
  bool require_tls = false;  // CURLUSESSL_ALL (STARTTLS or fail)
};

struct Response {
  CURLcode code = CURLE_OK;
  std::error_code error;             // curl_category(), empty when code == CURLE_OK
  ErrorKind kind = ErrorKind::none;  // transport kind, or from the HTTP status
  long status = 0;                   // HTTP status, or the last SMTP reply code
  long http_version = 0;             // CURL_HTTP_VERSION_1_1, CURL_HTTP_VERSION_2_0 …
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string last_reply;  // SMTP: the last reply line read ("550 5.1.1 no such user")
  std::string error_text;  // curl's error buffer, when code != OK

  // The first header with this (case-insensitive) name.
  std::optional<std::string_view> header(std::string_view name) const;
};

using ResponseHandler = std::function<void(Response)>;

struct MultiOptions {
  std::size_t max_in_flight = 10'000;  // beyond this, perform() fails fast (kind network)
  long max_host_connections = 0;       // 0: no limit (HTTP/2 streams multiplex anyway)
  long max_total_connections = 0;
  // Idle connections kept for reuse. libcurl's default (4 x the transfers added at the moment)
  // shrinks as a batch drains, closing connections the next batch must open again: measured,
  // 8,500 TCP connections for 9,500 SMS to one host.
  long max_connects = 1024;
  std::size_t idle_handles = 256;  // easy handles kept for reuse
};

class Multi {
 public:
  explicit Multi(boost::asio::io_context& io, MultiOptions options = {});
  ~Multi();
  Multi(const Multi&) = delete;
  Multi& operator=(const Multi&) = delete;

  // Starts a transfer. `done` is called exactly once, later, on the loop (never inside this call).
  void perform(Request request, ResponseHandler done);

  std::size_t in_flight() const noexcept;
  boost::asio::io_context& io() noexcept { return io_; }

  struct Impl;

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace dispatcher::channels::curl
