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
