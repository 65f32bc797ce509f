#include <gtest/gtest.h>

#include <random>
#include <set>

#include "channels/push/apns.hpp"
#include "channels/push/fcm.hpp"
#include "channels/retry.hpp"
#include "channels/support/standin.hpp"

namespace dispatcher::channels::push {
namespace {

using namespace channels::testing;  // NOLINT
using nlohmann::json;
namespace asio = boost::asio;

Envelope push(std::string token, std::string platform) {
  Envelope e;
  e.message_id = "push-" + token;
  e.channel = Channel::push;
  e.to = std::move(token);
  e.push_platform = std::move(platform);
  e.push_title = "さくら歯科";
  e.push_body = "明日10:00のご予約をお待ちしております";
  e.push_data = {{"kind", "reminder"}, {"rid", "r_123"}, {"n", 3}};
  e.campaign = "remind-24h";
  return e;
}

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

struct PushFixture : ::testing::Test {
  TempDir dir;
  TestCert cert = make_cert(dir);
  asio::io_context io;
  curl::Multi multi{io};
  FakeClock clock;

  FcmSettings fcm(const HttpStandin& s, const std::string& key_pem) {
    FcmSettings f;
    f.base_url = s.base();
    f.project_id = "demo-project";
    f.client_email = "dispatcher@demo-project.iam.gserviceaccount.com";
    f.private_key = load_private_key(key_pem);
    f.private_key_id = "kid-1";
    f.token_uri = s.base() + "/token";
    f.ca_file = cert.cert;
    return f;
  }
  ApnsSettings apns(const HttpStandin& s, const std::string& key_pem) {
    ApnsSettings a;
    a.base_url = s.base();
    a.key = load_private_key(key_pem);
    a.key_id = "ABC123DEFG";
    a.team_id = "DEF123GHIJ";
    a.topic = "jp.example.sakura";
    a.ca_file = cert.cert;
    return a;
  }
};

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

TEST(Jwt, DerToRawPadsToThirtyTwoBytes) {
  // SEQUENCE { INTEGER 0x01, INTEGER 0x00ff.. (33 bytes with sign pad) }
  std::string der = std::string("\x30\x26\x02\x01\x01\x02\x21\x00", 8) + std::string(32, '\xff');
  der[1] = static_cast<char>(der.size() - 2);
  const std::string raw = der_to_raw_p256(der);
  ASSERT_EQ(raw.size(), 64u);
  EXPECT_EQ(raw.substr(0, 31), std::string(31, '\0'));
  EXPECT_EQ(raw[31], '\x01');
  EXPECT_EQ(raw.substr(32), std::string(32, '\xff'));
}

}  // namespace
}  // namespace dispatcher::channels::push
