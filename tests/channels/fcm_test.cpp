#include "channels/push/fcm.hpp"

#include <gtest/gtest.h>

#include <random>

#include "channels/retry.hpp"
#include "channels/support/push.hpp"
#include "channels/support/standin.hpp"

namespace dispatcher::channels::push {
namespace {

using namespace channels::testing;  // NOLINT
using namespace push::testing;      // NOLINT
using nlohmann::json;
namespace asio = boost::asio;

json fcm_error(int http, const char* status, const char* code, bool token_violation = false) {
  json details = json::array(
      {{{"@type", "type.googleapis.com/google.firebase.fcm.v1.FcmError"}, {"errorCode", code}}});
  if (token_violation)
    details.push_back(
        {{"@type", "type.googleapis.com/google.rpc.BadRequest"},
         {"fieldViolations", json::array({{{"field", "message.token"},
                                           {"description", "Invalid registration token"}}})}});
  return {{"status", http},
          {"body",
           {{"error",
             {{"code", http}, {"message", "error"}, {"status", status}, {"details", details}}}}}};
}

std::size_t count_path(const std::vector<json>& reqs, const std::string& path) {
  std::size_t n = 0;
  for (const auto& r : reqs) n += r["path"] == path;
  return n;
}

TEST_F(PushFixture, FcmTokenFetchedOnceReusedAndRefreshedBeforeExpiry) {
  const std::string key = make_key(dir, "sa.pem", true);
  HttpStandin server(dir, "fcm", &cert, {}, key);
  FcmProvider p("fcm-main", fcm(server, read_file(key)), multi, clock.fn());
  int accepted = 0, done = 0;
  for (int i = 0; i < 30; ++i)
    p.send(push("tok-" + std::to_string(i), "fcm"), [&](Outcome o) {
      ++done;
      if (o.kind == OutcomeKind::accepted)
        ++accepted;
      else
        ADD_FAILURE() << o.error;
    });
  ASSERT_TRUE(run_until(io, [&] { return done == 30; }));
  EXPECT_EQ(accepted, 30);
  clock.advance(std::chrono::minutes(54));  // 6 minutes left: still used
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(send_sync(io, p, push("tok-a" + std::to_string(i), "fcm")).kind,
              OutcomeKind::accepted);
  auto reqs = server.requests();
  EXPECT_EQ(count_path(reqs, "/token"), 1u) << "one token for 35 sends";
  clock.advance(std::chrono::minutes(2));  // within 5 minutes of expiry: refreshed
  EXPECT_EQ(send_sync(io, p, push("tok-b", "fcm")).kind, OutcomeKind::accepted);
  reqs = server.requests();
  EXPECT_EQ(count_path(reqs, "/token"), 2u);
  EXPECT_EQ(p.token_fetches(), 2u);
  // The token request: a JWT bearer grant whose RS256 signature verifies with the key.
  for (const auto& r : reqs) {
    if (r["path"] != "/token") continue;
    EXPECT_EQ(r["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
    EXPECT_EQ(r["jwt_ok"], true);
  }
  // A send: bearer token, the v1 path, the message JSON with string data.
  const json& send = reqs.back();
  EXPECT_EQ(send["path"], "/v1/projects/demo-project/messages:send");
  EXPECT_EQ(send["headers"]["authorization"], "Bearer ya29.test-2");
  const json body = json::parse(send["body"].get<std::string>());
  EXPECT_EQ(body["message"]["token"], "tok-b");
  EXPECT_EQ(body["message"]["notification"]["title"], "さくら歯科");
  EXPECT_EQ(body["message"]["data"], (json{{"kind", "reminder"}, {"rid", "r_123"}, {"n", "3"}}));
}

TEST_F(PushFixture, FcmErrors) {
  const std::string key = make_key(dir, "sa.pem", true);
  json script;
  script["tok-gone"] = json::array({fcm_error(404, "NOT_FOUND", "UNREGISTERED")});
  script["tok-bad"] = json::array({fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", true)});
  script["tok-payload"] =
      json::array({fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", false)});
  json busy = fcm_error(503, "UNAVAILABLE", "UNAVAILABLE");
  busy["headers"] = {{"Retry-After", "30"}};
  json quota = fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED");
  script["tok-busy"] = json::array({busy, quota});
  script["tok-stale"] = json::array(
      {{{"status", 401}, {"body", {{"error", {{"code", 401}, {"status", "UNAUTHENTICATED"}}}}}}});
  HttpStandin server(dir, "fcm", &cert, script, key);
  FcmProvider p("fcm-main", fcm(server, read_file(key)), multi, clock.fn());
  Outcome o = send_sync(io, p, push("tok-gone", "fcm"));
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_TRUE(o.suppress_address);
  o = send_sync(io, p, push("tok-bad", "fcm"));
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_TRUE(o.suppress_address);
  o = send_sync(io, p, push("tok-payload", "fcm"));
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_FALSE(o.suppress_address) << "a bad payload is not the token's fault";
  // Transient twice, then accepted, in the pipeline's bounded retry loop.
  std::mt19937_64 rng(3);
  unsigned attempts = 0;
  std::vector<std::chrono::milliseconds> delays;
  while (attempts < 8) {
    ++attempts;
    o = send_sync(io, p, push("tok-busy", "fcm"));
    if (o.kind != OutcomeKind::transient) break;
    delays.push_back(retry_delay(attempts, o.retry_after, rng));
  }
  EXPECT_EQ(o.kind, OutcomeKind::accepted);
  EXPECT_EQ(attempts, 3u);
  ASSERT_EQ(delays.size(), 2u);
  EXPECT_GE(delays[0], std::chrono::seconds(30));
  // A 401 means the access token went stale: fetched again once, and the send goes through.
  o = send_sync(io, p, push("tok-stale", "fcm"));
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  EXPECT_EQ(count_path(server.requests(), "/token"), 2u);
}

}  // namespace
}  // namespace dispatcher::channels::push
