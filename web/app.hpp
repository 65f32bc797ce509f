// The routes of the HTTP surface: one handler per endpoint, each answering exactly once through
// `Respond`, on the loop. Redis is the non-blocking client; no blocking call runs here.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dispatcher/runtime.hpp"
#include "store/redis/endpoint.hpp"
#include "web/api_keys.hpp"
#include "web/metrics.hpp"
#include "web/redis_link.hpp"
#include "web/server.hpp"

namespace dispatcher::web {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using Respond = std::function<void(Response)>;

class App {
 public:
  // Start-up, before the loop runs: `redis` is already resolved (resolving may start the
  // embedded redis-server, a blocking fork/exec and wait that must not run on the loop).
  App(boost::asio::io_context& io, const Runtime& rt, const ApiKeys& keys, const ServeOptions& o,
      redis::Endpoint redis, NowFn now);
  ~App();

  void handle(Request req, const boost::asio::ip::address& remote, Respond respond);
  Metrics& metrics() { return metrics_; }
  void close();  // shutdown: drops the Redis connection, fails batches still waiting on it

 private:
  struct Call;  // one request in flight: the request, the route label and the responder
  using CallPtr = std::shared_ptr<Call>;
  using RedisDone =
      std::function<void(const std::string& error, std::vector<redis::Reply> replies)>;

  void redis_exec(std::vector<redis::Command> cmds, RedisDone done);

  void healthz(CallPtr c);
  void metrics_page(CallPtr c);
  void intake(CallPtr c);
  void cancel(CallPtr c, std::string id);
  void unsubscribe_get(CallPtr c, std::string token);
  void unsubscribe_post(CallPtr c, std::string token);
  void preferences_post(CallPtr c, std::string token);
  // A Twilio webhook is genuine: its X-Twilio-Signature matches, or (no auth token configured)
  // it came from loopback.
  bool twilio_verified(const Call& c,
                       const std::vector<std::pair<std::string, std::string>>& form) const;
  void sms_inbound(CallPtr c);
  void email_bounce(CallPtr c);
  void delivery_status(CallPtr c);
  void subject_request(CallPtr c, std::string subject, std::string action);

  const Runtime& rt_;
  const ApiKeys& keys_;
  ServeOptions options_;
  NowFn now_;
  std::vector<std::string> page_purposes_;  // the policy's marketing purposes, for the page
  Metrics metrics_;
  RedisLink redis_;
};

}  // namespace dispatcher::web
