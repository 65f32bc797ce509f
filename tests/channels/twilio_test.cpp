#include "channels/sms/twilio.hpp"

#include <gtest/gtest.h>

#include <random>

#include "channels/retry.hpp"
#include "channels/support/sms.hpp"
#include "channels/support/standin.hpp"

namespace dispatcher::channels::sms {
namespace {

using namespace channels::testing;  // NOLINT
using namespace sms::testing;       // NOLINT
using nlohmann::json;
namespace asio = boost::asio;

curl::Response twilio_answer(long status, const json& body,
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
  curl::Response r;
  r.status = status;
  r.kind = classify_http(status);
  r.body = body.is_string() ? body.get<std::string>() : body.dump();
  r.headers = std::move(headers);
  return r;
}

TEST(TwilioClassify, CreatedWithASidIsAccepted) {
  const std::chrono::system_clock::time_point now{std::chrono::seconds(1'796'000'400)};
  const Outcome o =
      classify_twilio(twilio_answer(201, {{"sid", "SM0123"}, {"status", "queued"}}), now);
  EXPECT_EQ(o.kind, OutcomeKind::accepted);
  EXPECT_EQ(o.provider_message_id, "SM0123");
  const Outcome no_sid = classify_twilio(twilio_answer(201, {{"status", "queued"}}), now);
  EXPECT_EQ(no_sid.kind, OutcomeKind::transient) << "an answer we cannot track is no acceptance";
  EXPECT_EQ(classify_twilio(twilio_answer(200, json("not json")), now).kind,
            OutcomeKind::transient);
}

TEST(TwilioClassify, BusyAndCredentialsAreTransientOtherRefusalsPermanent) {
  const std::chrono::system_clock::time_point now{std::chrono::seconds(1'796'000'400)};
  const Outcome busy =
      classify_twilio(twilio_answer(429, {{"code", 20429}, {"message", "Too Many Requests"}},
                                    {{"retry-after", "7"}}),
                      now);
  EXPECT_EQ(busy.kind, OutcomeKind::transient);
  EXPECT_EQ(busy.retry_after, std::chrono::seconds(7));
  EXPECT_EQ(classify_twilio(twilio_answer(502, json("<html>bad gateway</html>")), now).kind,
            OutcomeKind::transient);
  for (long status : {401L, 403L}) {
    const Outcome o = classify_twilio(twilio_answer(status, {{"code", 20003}}), now);
    EXPECT_EQ(o.kind, OutcomeKind::transient) << status << ": failover takes over";
    EXPECT_FALSE(o.suppress_address);
  }
  const Outcome landline =
      classify_twilio(twilio_answer(400, {{"code", 21635}, {"message", "landline"}}), now);
  EXPECT_EQ(landline.kind, OutcomeKind::permanent);
  EXPECT_TRUE(landline.suppress_address);
  EXPECT_NE(landline.error.find("21635"), std::string::npos) << landline.error;
  const Outcome other = classify_twilio(twilio_answer(400, {{"code", 21602}}), now);
  EXPECT_EQ(other.kind, OutcomeKind::permanent);
  EXPECT_FALSE(other.suppress_address)
      << "other refusals are permanent but say nothing of the number";
}

TEST(TwilioClassify, NoAnswerIsTransient) {
  curl::Response r;
  r.code = CURLE_COULDNT_CONNECT;
  r.kind = ErrorKind::network;
  r.error_text = "Failed to connect";
  const Outcome o = classify_twilio(r, std::chrono::system_clock::time_point{});
  EXPECT_EQ(o.kind, OutcomeKind::transient);
  EXPECT_NE(o.error.find("Failed to connect"), std::string::npos) << o.error;
}

TEST(TwilioDeadNumber, TheCodesThatMeanTheNumberCannotReceive) {
  for (long code : {21610L, 21211L, 21614L, 21635L, 30005L, 30006L})
    EXPECT_TRUE(twilio_error_means_dead_number(code)) << code;
  for (long code : {0L, 20003L, 20429L, 21606L, 21602L, 30003L, 30007L, 30008L})
    EXPECT_FALSE(twilio_error_means_dead_number(code)) << code;
}

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

}  // namespace
}  // namespace dispatcher::channels::sms
