#include <gtest/gtest.h>

#include <random>

#include "channels/failover.hpp"
#include "channels/rate_limit.hpp"
#include "channels/retry.hpp"
#include "channels/sms/http_sms.hpp"
#include "channels/sms/twilio.hpp"
#include "channels/support/standin.hpp"

namespace dispatcher::channels::sms {
namespace {

using namespace channels::testing;  // NOLINT
using nlohmann::json;
namespace asio = boost::asio;

Envelope sms(std::string to) {
  Envelope e;
  e.message_id = "sms-" + to;
  e.channel = Channel::sms;
  e.to = std::move(to);
  e.sms_text = "さくら歯科です。明日10:00のご予約をお待ちしております。";
  return e;
}

json twilio_error(int code, int status, const char* message) {
  return {{"status", status},
          {"body",
           {{"code", code},
            {"message", message},
            {"more_info", "https://www.twilio.com/docs/errors/" + std::to_string(code)},
            {"status", status}}}};
}

struct SmsFixture : ::testing::Test {
  TempDir dir;
  TestCert cert = make_cert(dir);
  asio::io_context io;
  curl::Multi multi{io};

  TwilioSettings twilio(const HttpStandin& s) {
    TwilioSettings t;
    t.base_url = s.base();
    t.account_sid = "AC0123456789abcdef0123456789abcdef";
    t.auth_token = "secret-token";
    t.from = "+815012345678";
    t.status_callback = "https://notify.example.jp/webhooks/twilio";
    t.ca_file = cert.cert;
    return t;
  }
  HttpSmsSettings generic(const HttpStandin& s) {
    HttpSmsSettings g;
    g.url = s.base() + "/v1/sms";
    g.auth_header = "X-Api-Key";
    g.auth_value = "key-123";
    g.from = "SAKURA";
    g.to_field = "to";
    g.text_field = "message";
    g.suppress_codes = {"unsubscribed", "invalid_number"};
    g.ca_file = cert.cert;
    return g;
  }
  void control(const HttpStandin& s, const json& body) {
    curl::Request r;
    r.url = s.base() + "/_control";
    r.body = body.dump();
    r.ca_file = cert.cert;
    bool done = false;
    multi.perform(r, [&](curl::Response resp) {
      EXPECT_EQ(resp.status, 200);
      done = true;
    });
    ASSERT_TRUE(run_until(io, [&] { return done; }));
  }
};

TEST_F(SmsFixture, TwilioAcceptedWithTheRealRequestFormat) {
  HttpStandin server(dir, "twilio", &cert);
  TwilioProvider p("twilio-main", twilio(server), multi);
  const Outcome o = send_sync(io, p, sms("+819012345678"));
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  EXPECT_EQ(o.provider_message_id.rfind("SM", 0), 0u);
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const auto& r = reqs[0];
  EXPECT_EQ(r["method"], "POST");
  EXPECT_EQ(r["path"], "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json");
  EXPECT_EQ(r["headers"]["content-type"], "application/x-www-form-urlencoded");
  // Basic base64("AC…:secret-token")
  EXPECT_EQ(r["headers"]["authorization"],
            "Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjpzZWNyZXQtdG9rZW4=");
  const std::string body = r["body"];
  EXPECT_NE(body.find("To=%2B819012345678"), std::string::npos) << body;
  EXPECT_NE(body.find("From=%2B815012345678"), std::string::npos);
  EXPECT_NE(body.find("Body=%E3%81%95"), std::string::npos);
  EXPECT_NE(body.find("StatusCallback=https%3A%2F%2Fnotify.example.jp%2Fwebhooks%2Ftwilio"),
            std::string::npos);
}

TEST_F(SmsFixture, TwilioMessagingServiceLeavesFromOut) {
  HttpStandin server(dir, "twilio", &cert);
  auto s = twilio(server);
  s.messaging_service_sid = "MG0123";
  TwilioProvider p("twilio-main", s, multi);
  EXPECT_EQ(send_sync(io, p, sms("+819012345678")).kind, OutcomeKind::accepted);
  const std::string body = server.requests().at(0)["body"];
  EXPECT_NE(body.find("MessagingServiceSid=MG0123"), std::string::npos);
  EXPECT_EQ(body.find("From="), std::string::npos);
}

TEST_F(SmsFixture, TwilioTransientThenAcceptedHonouringRetryAfter) {
  json script;
  script["+819000000001"] = json::array(
      {{{"status", 429},
        {"headers", {{"Retry-After", "2"}}},
        {"body", {{"code", 20429}, {"message", "Too Many Requests"}, {"status", 429}}}},
       {{"status", 503},
        {"body", {{"code", 20503}, {"message", "Service Unavailable"}, {"status", 503}}}}});
  HttpStandin server(dir, "twilio", &cert, script);
  TwilioProvider p("twilio-main", twilio(server), multi);
  std::mt19937_64 rng(7);
  RetryPolicy policy;
  std::vector<std::chrono::milliseconds> delays;
  Outcome o;
  unsigned attempts = 0;
  while (attempts < policy.max_attempts) {  // the pipeline's loop, without the waiting
    ++attempts;
    o = send_sync(io, p, sms("+819000000001"));
    if (o.kind != OutcomeKind::transient) break;
    delays.push_back(retry_delay(attempts, o.retry_after, rng, policy));
  }
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  EXPECT_EQ(attempts, 3u);
  ASSERT_EQ(delays.size(), 2u);
  EXPECT_GE(delays[0], std::chrono::seconds(2)) << "Retry-After: 2 must be honoured";
  EXPECT_LE(delays[1], std::chrono::seconds(2));
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(SmsFixture, TwilioPermanentErrorsSuppressDeadNumbers) {
  json script;
  script["+819000021610"] =
      json::array({twilio_error(21610, 400, "Attempt to send to unsubscribed recipient")});
  script["+819000021211"] =
      json::array({twilio_error(21211, 400, "The 'To' number is not a valid phone number.")});
  script["+819000021614"] =
      json::array({twilio_error(21614, 400, "'To' number is not a valid mobile number")});
  script["+819000021606"] = json::array({twilio_error(
      21606, 400, "The 'From' phone number provided is not a valid message-capable number")});
  HttpStandin server(dir, "twilio", &cert, script);
  TwilioProvider p("twilio-main", twilio(server), multi);
  for (const char* dead : {"+819000021610", "+819000021211", "+819000021614"}) {
    const Outcome o = send_sync(io, p, sms(dead));
    EXPECT_EQ(o.kind, OutcomeKind::permanent) << dead;
    EXPECT_TRUE(o.suppress_address) << dead;
  }
  const Outcome config = send_sync(io, p, sms("+819000021606"));
  EXPECT_EQ(config.kind, OutcomeKind::permanent);
  EXPECT_FALSE(config.suppress_address);
  const Outcome not_e164 = send_sync(io, p, sms("090-1234-5678"));
  EXPECT_EQ(not_e164.kind, OutcomeKind::permanent);
  EXPECT_EQ(server.requests().size(), 4u) << "a non-E.164 number never reaches the provider";
}

TEST_F(SmsFixture, GenericJsonProvider) {
  json script;
  script["+819000000009"] = json::array({{{"status", 400}, {"body", {{"code", "unsubscribed"}}}}});
  script["+819000000008"] = json::array(
      {{{"status", 500}, {"body", {{"code", "oops"}}}, {"headers", {{"Retry-After", "5"}}}}});
  script["+819000000007"] = json::array({{{"status", 422}, {"body", {{"code", "too_long"}}}}});
  HttpStandin server(dir, "http_sms", &cert, script);
  HttpSmsProvider p("generic-sms", generic(server), multi);
  Outcome o = send_sync(io, p, sms("+819012345678"));
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  EXPECT_EQ(o.provider_message_id.rfind("gen-", 0), 0u);
  const auto r = server.requests().at(0);
  EXPECT_EQ(r["headers"]["x-api-key"], "key-123");
  EXPECT_EQ(json::parse(r["body"].get<std::string>()),
            (json{{"to", "+819012345678"}, {"message", sms("+1").sms_text}, {"from", "SAKURA"}}));
  o = send_sync(io, p, sms("+819000000009"));
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_TRUE(o.suppress_address);
  o = send_sync(io, p, sms("+819000000008"));
  EXPECT_EQ(o.kind, OutcomeKind::transient);
  EXPECT_EQ(o.retry_after, std::chrono::milliseconds(5000));
  o = send_sync(io, p, sms("+819000000007"));
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_FALSE(o.suppress_address);
}

TEST_F(SmsFixture, RateLimitHoldsSendsToBurstPlusRateTimesWindow) {
  HttpStandin server(dir, "twilio", &cert);
  FakeClock clock;
  RateSettings rate{.per_second = 10, .burst = 5, .queue = 30};
  RateLimited p(std::make_unique<TwilioProvider>("twilio-main", twilio(server), multi), rate, io,
                clock.fn());
  int accepted = 0, full = 0, done = 0, timed_refusals = 0, untimed_sends = 0;
  for (int i = 0; i < 40; ++i)
    p.send(sms("+8190000001" + std::to_string(10 + i)), [&](Outcome o) {
      ++done;
      if (o.kind == OutcomeKind::accepted) {
        ++accepted;
        if (o.latency.count() == 0) ++untimed_sends;  // Twilio's answer is timed, as Twilio's
        EXPECT_EQ(o.provider, "twilio-main");
      } else if (o.error == "rate limit queue full") {
        ++full;
        if (o.latency.count() != 0)
          ++timed_refusals;  // the limiter's refusal is no provider's latency
      }
    });
  // With the clock standing still only the burst goes out; 30 wait; 5 are refused (queue bound).
  ASSERT_TRUE(run_until(io, [&] { return accepted == 5 && full == 5; }));
  EXPECT_EQ(p.waiting(), 30u);
  EXPECT_EQ(timed_refusals, 0);
  EXPECT_EQ(untimed_sends, 0);
  // One simulated second in steps of 100 ms: one token each, so burst + rate × 1 s in all.
  for (int k = 1; k <= 10; ++k) {
    clock.advance(std::chrono::milliseconds(100));
    ASSERT_TRUE(run_until(io, [&] { return accepted == 5 + k; })) << k;
  }
  EXPECT_EQ(p.waiting(), 20u);
  EXPECT_EQ(static_cast<int>(server.requests().size()), 5 + 10 * 1);
  // A long pause refills no more than the burst.
  clock.advance(std::chrono::seconds(10));
  ASSERT_TRUE(run_until(io, [&] { return accepted == 20; }));
  run_until(
      io, [] { return false; },
      std::chrono::milliseconds(300));  // the timer keeps waking; nothing more may pass
  EXPECT_EQ(accepted, 20);
  for (int i = 0; i < 20 && done < 40; ++i) {
    clock.advance(std::chrono::seconds(1));
    run_until(io, [&] { return accepted == std::min(35, 20 + 5 * (i + 1)); });
  }
  EXPECT_EQ(done, 40);
  EXPECT_EQ(accepted, 35);
}

TEST_F(SmsFixture, FailoverToSecondProviderAndBackAfterCoolDown) {
  HttpStandin first(dir, "twilio", &cert);
  HttpStandin second(dir, "http_sms", &cert);
  control(first,
          {{"*",
            {{"status", 503},
             {"body", {{"code", 20503}, {"message", "Service Unavailable"}, {"status", 503}}}}}});
  FakeClock clock;
  std::vector<std::unique_ptr<Provider>> ps;
  ps.push_back(std::make_unique<TwilioProvider>("twilio-main", twilio(first), multi));
  ps.push_back(std::make_unique<HttpSmsProvider>("generic-sms", generic(second), multi));
  Failover f("sms", std::move(ps),
             BreakerSettings{.failures_to_open = 3, .cool_down = std::chrono::seconds(30)}, io,
             clock.fn());
  for (int i = 0; i < 6; ++i) {
    const Outcome o = send_sync(io, f, sms("+81900000020" + std::to_string(i)));
    EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
    EXPECT_EQ(o.provider, "generic-sms");
  }
  EXPECT_EQ(first.requests().size(), 3u) << "the circuit opened after 3 failures";
  EXPECT_EQ(f.breaker(0).state(clock.t), CircuitBreaker::State::open);
  // The first provider recovers; after the cool-down one trial goes to it and closes the circuit.
  control(first, {{"*", nullptr}});
  clock.advance(std::chrono::seconds(10));
  EXPECT_EQ(send_sync(io, f, sms("+819000000300")).provider, "generic-sms");
  clock.advance(std::chrono::seconds(21));
  EXPECT_EQ(f.breaker(0).state(clock.t), CircuitBreaker::State::half_open);
  const Outcome back = send_sync(io, f, sms("+819000000301"));
  EXPECT_EQ(back.provider, "twilio-main") << back.error;
  EXPECT_EQ(f.breaker(0).state(clock.t), CircuitBreaker::State::closed);
  EXPECT_EQ(send_sync(io, f, sms("+819000000302")).provider, "twilio-main");
  EXPECT_EQ(first.requests().size(), 5u);
}

TEST_F(SmsFixture, PermanentAnswerDoesNotFailOver) {
  json script;
  script["+819000021610"] =
      json::array({twilio_error(21610, 400, "Attempt to send to unsubscribed recipient")});
  HttpStandin first(dir, "twilio", &cert, script);
  HttpStandin second(dir, "http_sms", &cert);
  std::vector<std::unique_ptr<Provider>> ps;
  ps.push_back(std::make_unique<TwilioProvider>("twilio-main", twilio(first), multi));
  ps.push_back(std::make_unique<HttpSmsProvider>("generic-sms", generic(second), multi));
  Failover f("sms", std::move(ps), {}, io);
  const Outcome o = send_sync(io, f, sms("+819000021610"));
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_TRUE(o.suppress_address);
  EXPECT_TRUE(second.requests().empty())
      << "an opt-out at one provider must not be bypassed through another";
}

}  // namespace
}  // namespace dispatcher::channels::sms
