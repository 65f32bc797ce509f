// `dispatcher serve`: a Boost.Beast HTTP/1.1 server on one io_context. Sessions own themselves;
// every read is bounded (header and body limits, a timeout); SIGTERM/SIGINT stop accepting,
// let requests in flight finish (bounded wait) and return 0. Connections are capped per client
// address and in all (below the fd limit); at the global cap the oldest idle connection is shed,
// so a new one (/healthz) always gets in.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "dispatcher/runtime.hpp"
#include "web/api_keys.hpp"

namespace dispatcher::web {

struct ServeOptions {
  std::string listen =
      "127.0.0.1:8080";  // HOST:PORT; port 0 lets the OS choose (printed on stdout)
  // Twilio's webhooks (inbound SMS, the form shape of /webhooks/status) are verified with this
  // token over public_url + the request target; empty: those routes are disabled (404). A token
  // without a public URL is refused at start-up (the Host header is never trusted).
  std::string twilio_auth_token;
  std::string public_url;  // the scheme://host[:port] Twilio calls, without the path
  // The LINE channel secrets (each line provider's channel_secret_env/_file): one of them
  // verifies POST /webhooks/line; none: that route is disabled (404).
  std::vector<std::string> line_channel_secrets;
  std::size_t body_limit = 1024 * 1024;
  std::size_t header_limit = 16 * 1024;
  int json_depth_limit = 32;
  std::size_t max_batch = 1000;                 // messages per intake request
  std::chrono::seconds read_timeout{30};        // a request's body, an answer's write
  std::chrono::seconds header_timeout{10};      // a request's headers (and keep-alive idling)
  std::size_t max_connections_per_client = 64;  // concurrent, per client IP address
  std::size_t max_connections = 4096;           // in all; lowered to stay below the fd limit
  std::chrono::seconds redis_timeout{5};
  std::chrono::seconds drain_timeout{10};
};

int serve(const Runtime& rt, const ApiKeys& keys, const ServeOptions& options);

}  // namespace dispatcher::web
