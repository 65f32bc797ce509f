// The HTTP surface: every route in one table (app.cpp) over the services every handler
// reaches (services.hpp). Routes live one file per family: intake.hpp, unsubscribe.hpp,
// subjects.hpp, webhooks.hpp, operations.hpp; each handler answers exactly once, through its
// Exchange, on the loop, and no blocking call runs there.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <memory>
#include <span>

#include "config/clock.hpp"
#include "dispatcher/runtime.hpp"
#include "store/redis/endpoint.hpp"
#include "web/api_keys.hpp"
#include "web/exchange.hpp"
#include "web/metrics.hpp"
#include "web/router.hpp"
#include "web/server.hpp"

namespace dispatcher::web {

// The routes of the HTTP surface, method + pattern → handler, in the order a reader scans them.
std::span<const Route> routes();

class App {
 public:
  // Start-up, before the loop runs: `redis` is already resolved (resolving may start the
  // embedded redis-server, which must not happen on the loop). Throws when the runtime has no
  // policy.
  App(boost::asio::io_context& io, const Runtime& rt, const ApiKeys& keys, const ServeOptions& o,
      redis::Endpoint redis, NowFn now);
  ~App();  // closes the Redis link

  // Routes one request: 404 for a path no route has, 405 with Allow for a method it does not
  // take, else the route's handler.
  void handle(Request req, const boost::asio::ip::address& remote, Respond respond);
  Metrics& metrics();
  void close();  // shutdown: drops the Redis connection, fails batches still waiting on it

 private:
  std::shared_ptr<Services> services_;
  Router router_;
};

}  // namespace dispatcher::web
