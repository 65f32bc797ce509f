// /healthz and /metrics without a socket: what ?require means, the health answer from Redis's
// replies, and the Prometheus page from the consumers' stats.
#include "web/operations.hpp"

#include <gtest/gtest.h>

#include "dispatcher/provider_latency.hpp"
#include "store/redis/error.hpp"

namespace dispatcher::web {
namespace {

using boost::beast::http::status;
using redis::Reply;

Reply integer(long long v) {
  Reply r;
  r.type = Reply::Type::integer;
  r.integer = v;
  return r;
}
Reply str(std::string s) {
  Reply r;
  r.type = Reply::Type::string;
  r.str = std::move(s);
  return r;
}

TEST(Healthz, RequireIsConsumerOrNothing) {
  EXPECT_EQ(requires_consumer({}), false);
  EXPECT_EQ(requires_consumer({{"require", "consumer"}}), true);
  EXPECT_EQ(requires_consumer({{"require", "magic"}}), std::nullopt);
  EXPECT_EQ(requires_consumer({{"lang", "en"}}), false);
}

TEST(Healthz, ServingNeedsRedisAndTheWholePipelineAConsumer) {
  const std::vector<Reply> none_alive = {str("PONG"), integer(0)};
  auto plain = health_answer({}, none_alive, false);
  EXPECT_EQ(plain.status, status::ok);
  EXPECT_EQ(plain.body["status"], "no_consumer");
  EXPECT_EQ(plain.body["redis"], "ok");
  EXPECT_EQ(plain.body["consumers_alive"], 0);
  EXPECT_EQ(health_answer({}, none_alive, true).status, status::service_unavailable);
  auto whole = health_answer({}, {str("PONG"), integer(2)}, true);
  EXPECT_EQ(whole.status, status::ok);
  EXPECT_EQ(whole.body["status"], "ok");
  auto down = health_answer(make_error_code(redis::Errc::cannot_connect), {}, false);
  EXPECT_EQ(down.status, status::service_unavailable);
  EXPECT_EQ(down.body["redis"], "unavailable");
  const Keys k;
  auto cmds = health_commands(k, parse_rfc3339("2026-11-30T10:00:00+09:00").value());
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[1].argv[0], "ZCOUNT");
  EXPECT_EQ(std::stoll(cmds[1].argv[2]),
            to_epoch_ms(parse_rfc3339("2026-11-30T10:00:00+09:00").value()) - consumer_alive_ms);
}

TEST(MetricsPage, WithoutRedisSaysSoBesideTheCounters) {
  Metrics m;
  m.inc("dispatcher_http_requests_total", {{"route", "/healthz"}, {"status", "503"}});
  const std::string page = metrics_page(m, make_error_code(redis::Errc::cannot_connect), {});
  EXPECT_NE(page.find("dispatcher_redis_up 0\n"), std::string::npos) << page;
  EXPECT_NE(page.find("dispatcher_http_requests_total{route=\"/healthz\",status=\"503\"} 1"),
            std::string::npos);
  EXPECT_EQ(page.find("dispatcher_queue_depth"), std::string::npos);
}

TEST(MetricsPage, CarriesTheQueueTheConsumersTotalsAndTheirLatency) {
  Reply stats;
  stats.type = Reply::Type::array;
  for (auto [f, v] : std::vector<std::pair<std::string, std::string>>{
           {"sent\tsms", "3"},
           {"deny\topted_out:all", "2"},
           {latency::bucket_field("outbox", "accepted", 0), "1"},
           {latency::sum_field("outbox", "accepted"), "500"},
           {"no tab here", "9"}}) {
    stats.elements.push_back(str(f));
    stats.elements.push_back(str(v));
  }
  const std::string page =
      metrics_page(Metrics{}, {}, {integer(4), integer(5), integer(6), stats, integer(1)});
  for (const char* line :
       {"dispatcher_redis_up 1\n", "dispatcher_queue_depth 4\n",
        "dispatcher_scheduled_messages 5\n", "dispatcher_dead_letters 6\n",
        "dispatcher_consumers_alive 1\n", "dispatcher_messages_sent_total{channel=\"sms\"} 3\n",
        "dispatcher_messages_total{outcome=\"deny\",reason=\"opted_out:all\"} 2\n",
        "dispatcher_provider_latency_seconds_count{provider=\"outbox\",outcome=\"accepted\"} 1\n",
        "dispatcher_provider_latency_seconds_sum{provider=\"outbox\",outcome=\"accepted\"} "
        "0.0005\n"})
    EXPECT_NE(page.find(line), std::string::npos) << line << page;
  EXPECT_EQ(page.find("no tab here"), std::string::npos);
  EXPECT_EQ(metrics_commands(Keys{}, {}).size(), 5u);
}

}  // namespace
}  // namespace dispatcher::web
