// GET /healthz and GET /metrics: the pure parts, the Redis commands each asks and what their
// replies mean, beside the two thin handlers (operations.cpp).
#pragma once

#include <boost/beast/http/status.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "config/clock.hpp"
#include "model/keys.hpp"
#include "store/redis/reply.hpp"
#include "web/metrics.hpp"
#include "web/router.hpp"

namespace dispatcher::web {

// A consumer that has not sent a heartbeat (every scheduler_interval_ms) for this long counts
// as gone.
inline constexpr std::int64_t consumer_alive_ms = 10000;

// Plain /healthz is this server's health (it answers and reaches Redis): an intake server is
// useful before any consumer runs, and a load balancer must not take it out of service for a
// missing consumer. ?require=consumer is the whole pipeline's health (a consumer sent a
// heartbeat recently), for the monitor that pages someone. nullopt: any other ?require (400).
std::optional<bool> requires_consumer(const std::map<std::string, std::string>& query);

std::vector<redis::Command> health_commands(const Keys& k, TimePoint now);
struct HealthAnswer {
  boost::beast::http::status status;
  nlohmann::json body;
};
// The answer from health_commands' replies (`ec` set: Redis is unavailable).
HealthAnswer health_answer(std::error_code ec, const std::vector<redis::Reply>& replies,
                           bool need_consumer);

std::vector<redis::Command> metrics_commands(const Keys& k, TimePoint now);
// The Prometheus page: this server's counters, and from metrics_commands' replies the queue's
// gauges, the consumers' totals and their provider latency histogram (`ec` set, or replies
// unreadable: only dispatcher_redis_up 0 beside the counters).
std::string metrics_page(const Metrics& m, std::error_code ec,
                         const std::vector<redis::Reply>& replies);

void get_healthz(const ExchangePtr& x);
void get_metrics(const ExchangePtr& x);

}  // namespace dispatcher::web
