// What every handler of the HTTP surface reaches: the runtime, the API keys, the options, the
// clock, the counters, the one Redis link and the one connection to the system of record.
//
// Built by App before the loop runs and shared by the exchanges in flight (each holds a
// shared_ptr), so a completion that runs after App let go still finds them. `rt` and `keys` are
// references: serve() owns both for longer than its loop runs, and nothing runs on the loop
// after serve() returns (handlers left in the io_context are destroyed, never run).
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "config/clock.hpp"
#include "dispatcher/runtime.hpp"
#include "policy/policy.hpp"
#include "store/pg/async_connection.hpp"
#include "store/redis/endpoint.hpp"
#include "web/api_keys.hpp"
#include "web/metrics.hpp"
#include "web/redis_link.hpp"
#include "web/server.hpp"

namespace dispatcher::web {

struct Services {
  // Start-up: throws when the runtime was opened without a policy (serve needs it).
  Services(boost::asio::io_context& io, const Runtime& rt, const ApiKeys& keys,
           const ServeOptions& options, redis::Endpoint redis_endpoint, NowFn now);

  const Runtime& rt;
  const policy::Policy& policy;
  const ApiKeys& keys;
  const ServeOptions options;
  const NowFn now;
  // The policy's marketing purposes, in the file's order: what the preference page offers.
  const std::vector<std::string> page_purposes;
  Metrics metrics;
  RedisLink redis;
  // Connected (and the schema migrated) at start-up; audit rows and history go through it.
  std::unique_ptr<pg::AsyncConnection> db;
};

}  // namespace dispatcher::web
