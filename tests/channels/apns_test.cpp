#include "channels/push/apns.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "channels/retry.hpp"
#include "channels/support/push.hpp"
#include "channels/support/standin.hpp"

namespace dispatcher::channels::push {
namespace {

using namespace channels::testing;  // NOLINT
using namespace push::testing;      // NOLINT
using nlohmann::json;
namespace asio = boost::asio;

TEST_F(PushFixture, ApnsOverHttp2WithReusedProviderToken) {
  const std::string key = make_key(dir, "apns.p8", false);
  HttpStandin server(dir, "apns", &cert, {}, key);
  ApnsProvider p("apns-main", apns(server, read_file(key)), multi, clock.fn());
  const std::string device(64, 'a');
  int accepted = 0, done = 0;
  for (int i = 0; i < 20; ++i)
    p.send(push(device, "apns"), [&](Outcome o) {
      ++done;
      if (o.kind == OutcomeKind::accepted)
        ++accepted;
      else
        ADD_FAILURE() << o.error;
    });
  ASSERT_TRUE(run_until(io, [&] { return done == 20; }));
  EXPECT_EQ(accepted, 20);
  clock.advance(std::chrono::minutes(30));
  EXPECT_EQ(send_sync(io, p, push(device, "apns")).kind, OutcomeKind::accepted);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 21u);
  std::set<std::string> jwts;
  std::set<long long> connections;
  for (const auto& r : reqs) {
    EXPECT_EQ(r["http_version"], "2");
    EXPECT_EQ(r["method"], "POST");
    EXPECT_EQ(r["path"], "/3/device/" + device);
    EXPECT_EQ(r["headers"]["apns-topic"], "jp.example.sakura");
    EXPECT_EQ(r["headers"]["apns-push-type"], "alert");
    EXPECT_EQ(r["headers"]["apns-priority"], "10");
    EXPECT_EQ(r["headers"]["apns-collapse-id"], "remind-24h");
    EXPECT_EQ(r["jwt_ok"], true) << "ES256 signature as raw R||S verifies";
    jwts.insert(r["headers"]["authorization"].get<std::string>());
    connections.insert(r["connection"].get<long long>());
  }
  EXPECT_EQ(jwts.size(), 1u) << "one provider token within its window";
  EXPECT_EQ(connections.size(), 1u) << "all streams multiplexed on one HTTP/2 connection";
  EXPECT_EQ(reqs[0]["headers"]["apns-expiration"],
            std::to_string(to_epoch_ms(clock.t - std::chrono::minutes(30)) / 1000 + 86400));
  const json payload = json::parse(reqs[0]["body"].get<std::string>());
  EXPECT_EQ(payload["aps"]["alert"]["body"], "明日10:00のご予約をお待ちしております");
  EXPECT_EQ(payload["rid"], "r_123");
  // Past 50 minutes: a new token.
  clock.advance(std::chrono::minutes(21));
  EXPECT_EQ(send_sync(io, p, push(device, "apns")).kind, OutcomeKind::accepted);
  reqs = server.requests();
  EXPECT_NE(reqs.back()["headers"]["authorization"], reqs.front()["headers"]["authorization"]);
  EXPECT_EQ(reqs.back()["jwt_ok"], true);
}

TEST_F(PushFixture, ApnsErrors) {
  const std::string key = make_key(dir, "apns.p8", false);
  const std::string gone(64, 'b'), bad(64, 'c'), busy(64, 'd');
  json script;
  script[gone] = json::array(
      {{{"status", 410}, {"body", {{"reason", "Unregistered"}, {"timestamp", 1764000000000}}}}});
  script[bad] = json::array({{{"status", 400}, {"body", {{"reason", "BadDeviceToken"}}}}});
  script[busy] = json::array({{{"status", 429}, {"body", {{"reason", "TooManyRequests"}}}},
                              {{"status", 503},
                               {"body", {{"reason", "ServiceUnavailable"}}},
                               {"headers", {{"Retry-After", "10"}}}}});
  HttpStandin server(dir, "apns", &cert, script, key);
  ApnsProvider p("apns-main", apns(server, read_file(key)), multi, clock.fn());
  Outcome o = send_sync(io, p, push(gone, "apns"));
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_TRUE(o.suppress_address);
  o = send_sync(io, p, push(bad, "apns"));
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_TRUE(o.suppress_address);
  std::mt19937_64 rng(4);
  unsigned attempts = 0;
  std::vector<std::chrono::milliseconds> delays;
  while (attempts < 8) {
    ++attempts;
    o = send_sync(io, p, push(busy, "apns"));
    if (o.kind != OutcomeKind::transient) break;
    delays.push_back(retry_delay(attempts, o.retry_after, rng));
  }
  EXPECT_EQ(o.kind, OutcomeKind::accepted);
  EXPECT_EQ(attempts, 3u);
  ASSERT_EQ(delays.size(), 2u);
  EXPECT_GE(delays[1], std::chrono::seconds(10));
  o = send_sync(io, p, push("not-hex!", "apns"));
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
}

}  // namespace
}  // namespace dispatcher::channels::push
