// `dispatcher serve`: a Boost.Beast HTTP/1.1 server on one io_context. Sessions own themselves;
// every read is bounded (header and body limits, a timeout); SIGTERM/SIGINT stop accepting,
// let requests in flight finish (bounded wait) and return 0.
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
      "127.0.0.1:8080";           // HOST:PORT; port 0 lets the OS choose (printed on stdout)
  std::string twilio_auth_token;  // empty: inbound SMS webhooks only from loopback
  std::string public_url;         // the URL Twilio signs, without the path; empty: http://<Host>
  // The LINE channel secrets (each line provider's channel_secret_env/_file): one of them
  // verifies POST /webhooks/line; none: that route is disabled (404).
  std::vector<std::string> line_channel_secrets;
  std::size_t body_limit = 1024 * 1024;
  std::size_t header_limit = 16 * 1024;
  int json_depth_limit = 32;
  std::size_t max_batch = 1000;  // messages per intake request
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds redis_timeout{5};
  std::chrono::seconds drain_timeout{10};
};

int serve(const Runtime& rt, const ApiKeys& keys, const ServeOptions& options);

}  // namespace dispatcher::web
