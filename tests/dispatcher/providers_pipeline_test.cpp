// Real providers inside the pipeline: a Twilio-compatible stand-in over HTTPS on loopback.
// A permanent "invalid number" suppresses the address, so the next message to it is denied
// address_suppressed:sms; a transient failure is retried and then delivered once.
#include <gtest/gtest.h>

#include <cstdlib>

#include "channels/support/standin.hpp"
#include "dispatcher/dispatcher_env.hpp"

using nlohmann::json;
namespace ct = dispatcher::channels::testing;

TEST(ProvidersPipeline, PermanentFailureSuppressesAndTransientFailureIsRetried) {
  ct::TempDir certs;
  const auto cert = ct::make_cert(certs);
  const std::string dead = "+819012340001", flaky = "+819012340002";
  json script = {
      {dead,
       {{{"status", 400},
         {"body", {{"code", 21211}, {"message", "Invalid 'To' Phone Number"}, {"status", 400}}}}}},
      {flaky,
       {{{"status", 503},
         {"body", {{"code", 20500}, {"message", "unavailable"}, {"status", 503}}}}}}};
  ct::HttpStandin twilio(certs, "twilio", &cert, script);
  ::setenv("TWILIO_AUTH_TOKEN", "test-token-0123456789", 1);
  testing_support::DispatcherEnv env(
      "channels:\n  sms:\n    - {type: twilio, account_sid: AC0123456789, auth_token_env: "
      "TWILIO_AUTH_TOKEN, from: \"+815012345678\", base_url: \"" +
      twilio.base() + "\", ca_file: \"" + cert.cert + "\"}\n");
  auto to = [](const std::string& phone) {
    return json{{"contact", {{"phone", phone}}}, {"clinic", "c-1"}, {"source", "patient_registry"}};
  };
  json first = testing_support::sms_reminder("to-dead-1", 0),
       retried = testing_support::sms_reminder("to-flaky", 0);
  first["to"] = to(dead);
  retried["to"] = to(flaky);
  ASSERT_EQ(env.enqueue({first, retried}).exit_code, 0);
  auto run = env.run({"run", "--until-idle"});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  // The stand-in saw Twilio's real request: form fields and basic auth.
  auto requests = twilio.requests();
  ASSERT_GE(requests.size(), 3u) << "dead once, flaky twice";
  int flaky_tries = 0;
  for (const auto& r : requests)
    if (r.dump().find("819012340002") != std::string::npos) ++flaky_tries;
  EXPECT_EQ(flaky_tries, 2) << "503 then accepted";

  auto history_dead = env.history(dead);
  ASSERT_FALSE(history_dead.empty());
  EXPECT_EQ(history_dead.back()["event"], "delivery_failed");
  EXPECT_EQ(history_dead.back()["reason"], "address_suppressed:sms");
  auto history_flaky = env.history(flaky);
  ASSERT_FALSE(history_flaky.empty());
  EXPECT_EQ(history_flaky.back()["decision"], "send");
  EXPECT_EQ(history_flaky.back()["provider"], "twilio");
  EXPECT_EQ(history_flaky.back()["attempts"], 2)
      << "every provider attempt counts: the 503, then this";
  EXPECT_FALSE(history_flaky.back()["provider_message_id"].get<std::string>().empty());

  // From now on the policy knows the address is dead.
  json second = testing_support::sms_reminder("to-dead-2", 0);
  second["to"] = to(dead);
  auto explain = env.run({"explain", "-"}, second.dump() + "\n");
  ASSERT_EQ(explain.exit_code, 0) << explain.err;
  auto line = json::parse(explain.out);
  EXPECT_EQ(line["decision"], "deny");
  EXPECT_EQ(line["reason"], "address_suppressed:sms");
  auto list = env.run({"suppression", "list"});
  EXPECT_NE(list.out.find("\"channel\":\"sms\""), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("819012340001"), std::string::npos)
      << "suppressions are listed by hash, not number";
}

TEST(ProvidersPipeline, CheckConnectHandshakesWithEveryProviderAndNamesTheOneThatFails) {
  ct::TempDir certs;
  const auto cert = ct::make_cert(certs);
  ct::HttpStandin twilio(certs, "twilio", &cert);
  ct::Process smtp({ct::python(), ct::standin("smtp_standin.py"), "--out", certs / "mail", "--cert",
                    cert.cert, "--key", cert.key});
  const int smtp_port = smtp.port();
  ::setenv("TWILIO_AUTH_TOKEN", "test-token-0123456789", 1);
  auto config = [&](const std::string& twilio_base, bool with_ca) {
    return "channels:\n  email:\n    - {type: smtp, url: \"smtp://127.0.0.1:" +
           std::to_string(smtp_port) + "\", from: no-reply@clinic.example.jp" +
           (with_ca ? ", ca_file: \"" + cert.cert + "\"" : std::string()) +
           "}\n  sms:\n    - {type: twilio, account_sid: AC0123456789, auth_token_env: "
           "TWILIO_AUTH_TOKEN, from: "
           "\"+815012345678\", base_url: \"" +
           twilio_base + "\"" + (with_ca ? ", ca_file: \"" + cert.cert + "\"" : std::string()) +
           "}\n";
  };
  {
    testing_support::DispatcherEnv env(config(twilio.base(), true));
    auto r = env.run({"check", "--connect"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("connect: channels.email smtp smtp://127.0.0.1:" +
                         std::to_string(smtp_port) + " ok"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("connect: channels.sms twilio " + twilio.base() + " ok"),
              std::string::npos)
        << r.out;
    EXPECT_TRUE(twilio.requests().empty()) << "a handshake, no request";
    // Without the flag nothing is dialled.
    auto plain = env.run({"check"});
    EXPECT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_EQ(plain.out.find("connect:"), std::string::npos) << plain.out;
  }
  {
    // Certificates the system does not trust: the HTTPS handshake and SMTP's STARTTLS both
    // fail, each named, and both are reported.
    testing_support::DispatcherEnv env(config(twilio.base(), false));
    auto r = env.run({"check", "--connect"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("connect: channels.sms twilio " + twilio.base() + ": "), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("connect: channels.email smtp smtp://127.0.0.1:" +
                         std::to_string(smtp_port) + ": "),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("check: 2 errors"), std::string::npos) << r.err;
  }
  {
    // Nothing listening.
    testing_support::DispatcherEnv env(config("http://127.0.0.1:9", true));
    auto r = env.run({"check", "--connect"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("connect: channels.sms twilio http://127.0.0.1:9: "), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("check: 1 error"), std::string::npos) << r.err;
  }
}

namespace {

// LINE accepts pushes to users who blocked the account and drops them; only the unfollow webhook
// tells us, and it needs the channel secret. `check` says so when a line provider has none, and
// `check --connect` reads the month's quota.
TEST(ProvidersPipeline, CheckWarnsOfALineChannelWithoutItsWebhookSecretAndReadsTheQuota) {
  ct::TempDir certs;
  const auto cert = ct::make_cert(certs);
  ct::HttpStandin line(certs, "line", &cert, {}, {}, {"--bearer", "check-line-token"});
  ::setenv("CHECK_LINE_TOKEN", "check-line-token", 1);
  ::setenv("CHECK_LINE_SECRET", "check-line-secret", 1);
  auto config = [&](bool secret) {
    return "channels:\n  line:\n    - {type: line, channel_access_token_env: CHECK_LINE_TOKEN, " +
           std::string(secret ? "channel_secret_env: CHECK_LINE_SECRET, " : "") + "url: \"" +
           line.base() + "\", ca_file: \"" + cert.cert + "\"}\n";
  };
  {
    testing_support::DispatcherEnv env(config(false));
    auto r = env.run({"check"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("warning: channels.line has no channel_secret_env"), std::string::npos)
        << r.err;
  }
  {
    testing_support::DispatcherEnv env(config(true));
    auto r = env.run({"check", "--connect"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("connect: channels.line "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("/v2/bot/message/quota: {\"type\":\"limited\",\"value\":1000}"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find("check-line-token"), std::string::npos) << "no secret printed";
  }
}

}  // namespace
