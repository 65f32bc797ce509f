// Issue 17, end to end against `dispatcher serve`: no network origin is trusted. Twilio's routes
// are 404 without a token, refuse unsigned, forged and Host-signed requests from loopback (with or
// without a proxy's headers) with 403 and no change; a replayed signed STOP changes nothing more;
// a token without a public URL stops serve at start-up. Malformed Authorization headers are 401.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "codec/base64.hpp"
#include "model/message.hpp"
#include "web/text.hpp"
#include "web/web_env.hpp"
#include "web/webhooks.hpp"

namespace web_testing {
namespace {

using nlohmann::json;

const std::string kToken = "signing-test-token-0123";
const std::string kPublic = "https://hooks.example.jp";

std::vector<std::string> twilio_args() {
  ::setenv("SIGNING_TEST_TWILIO_TOKEN", kToken.c_str(), 1);
  return {"--twilio-auth-token-env", "SIGNING_TEST_TWILIO_TOKEN", "--public-url", kPublic};
}

std::string sign(const std::string& token, const std::string& url, const std::string& body) {
  auto fields = dispatcher::web::parse_form(body).value_or(dispatcher::web::FormFields{});
  return dispatcher::web::twilio_signature(token, url, fields);
}

const std::vector<std::map<std::string, std::string>> kProxyHeaders = {
    {},
    {{"X-Forwarded-For", "127.0.0.1"}},
    {{"X-Forwarded-For", "127.0.0.1"},
     {"X-Forwarded-Host", "hooks.example.jp"},
     {"X-Forwarded-Proto", "https"},
     {"Forwarded", "for=127.0.0.1;host=hooks.example.jp;proto=https"}},
};

TEST(WebhookSigning, WithoutATwilioTokenTheTwilioRoutesAre404) {
  WebEnv env;
  const std::string stop = "From=%2B819012349001&Body=STOP";
  auto before = env.snapshot();
  for (const auto& proxy : kProxyHeaders) {
    auto h = proxy;
    EXPECT_EQ(env.post_form("/webhooks/sms/inbound", stop, h).status, 404);
    h["X-Twilio-Signature"] = sign(kToken, kPublic + "/webhooks/sms/inbound", stop);
    EXPECT_EQ(env.post_form("/webhooks/sms/inbound", stop, h).status, 404);
    EXPECT_EQ(env.post_form("/webhooks/status", "MessageSid=SM1&MessageStatus=delivered", h).status,
              404);
  }
  EXPECT_EQ(env.snapshot(), before);
  // The JSON shape of /webhooks/status stays, with the operator key.
  EXPECT_EQ(
      env.post_json("/webhooks/status", {{"provider_message_id", "x"}, {"status", "sent"}}).status,
      401);
  EXPECT_EQ(env.post_json("/webhooks/status", {{"provider_message_id", "x"}, {"status", "sent"}},
                          env.operator_key)
                .status,
            200);
}

TEST(WebhookSigning, UnsignedForgedAndHostSignedFromLoopbackChangeNothing) {
  WebEnv env(twilio_args());
  const std::string stop = "From=%2B819012349002&Body=STOP&To=%2B815000000000";
  const std::string start = "From=%2B819012349002&Body=START&To=%2B815000000000";
  const std::string status = "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30006";
  const std::string host_url = "http://127.0.0.1:" + std::to_string(env.port());
  auto before = env.snapshot();
  for (const auto& proxy : kProxyHeaders) {
    for (const std::string& sig :
         {std::string(), std::string("AAAA"),
          sign("wrong-token", kPublic + "/webhooks/sms/inbound", stop),  // forged
          sign(kToken, host_url + "/webhooks/sms/inbound", stop),        // the Host header's URL
          sign(kToken, kPublic + "/webhooks/sms/inbound", start)}) {     // another body's
      auto h = proxy;
      if (!sig.empty()) h["X-Twilio-Signature"] = sig;
      auto r = env.post_form("/webhooks/sms/inbound", stop, h);
      EXPECT_EQ(r.status, 403) << sig << " " << r.body;
      EXPECT_FALSE(r.json().value("detail", "").empty()) << r.body;
    }
    auto h = proxy;
    h["X-Twilio-Signature"] = sign(kToken, host_url + "/webhooks/status", status);
    EXPECT_EQ(env.post_form("/webhooks/status", status, h).status, 403);
  }
  EXPECT_EQ(env.snapshot(), before);
}

TEST(WebhookSigning, AReplayedSignedStopLeavesTheSameState) {
  WebEnv env(twilio_args());
  const std::string phone = "+819012349003";
  const std::string stop = "From=%2B819012349003&Body=STOP&To=%2B815000000000";
  const std::map<std::string, std::string> h = {
      {"X-Twilio-Signature", sign(kToken, kPublic + "/webhooks/sms/inbound", stop)}};
  const std::string subject = "contact:" + dispatcher::address_hash(phone, env.secret());
  ASSERT_EQ(env.post_form("/webhooks/sms/inbound", stop, h).status, 200);
  ASSERT_FALSE(env.state_field(subject, "optout:channel:sms").empty());
  auto keys_of = [](const std::map<std::string, std::string>& snap) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : snap) keys.push_back(k);
    return keys;
  };
  const auto first = env.snapshot();
  // The same signed request again, as an attacker who saw it would send it.
  ASSERT_EQ(env.post_form("/webhooks/sms/inbound", stop, h).status, 200);
  EXPECT_EQ(keys_of(env.snapshot()), keys_of(first)) << "no new key";
  EXPECT_FALSE(env.state_field(subject, "optout:channel:sms").empty()) << "still opted out";
  auto history = env.get("/v1/subjects/" + subject + "/history", env.operator_key);
  ASSERT_EQ(history.status, 200) << history.body;
  int optouts = 0;
  const json records = history.json()["history"];
  for (const auto& rec : records) optouts += rec.value("event", "") == "optout";
  EXPECT_EQ(optouts, 2) << "the audit records each delivery of the request: " << history.body;
}

TEST(WebhookSigning, ServeRefusesATwilioTokenWithoutAPublicUrl) {
  WebEnv env;
  ::setenv("SIGNING_TEST_TWILIO_TOKEN", kToken.c_str(), 1);
  auto r = env.run(
      {"serve", "--listen", "127.0.0.1:0", "--twilio-auth-token-env", "SIGNING_TEST_TWILIO_TOKEN"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--public-url"), std::string::npos) << r.err;
}

TEST(AuthHeaders, MalformedAuthorizationIsA401WithAProblemNeverA500) {
  WebEnv env;
  const std::vector<std::string> malformed = {
      "Basic ====",
      "Basic " + dispatcher::base64("no-colon-here"),
      "Basic",
      "Basic ",
      "Basic !!!!",
      "Basic " + dispatcher::base64(":"),
      "Bearer",
      "Bearer ",
      "Bearer     ",
      "Negotiate abc",
      "garbage",
      "Bearer " + std::string(300, 'k'),
      "Basic " + std::string(600, 'A'),
  };
  auto before = env.snapshot();
  for (const auto& value : malformed) {
    std::map<std::string, std::string> h = {{"Authorization", value},
                                            {"Content-Type", "application/json"}};
    for (const auto& [method, target, body] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"POST", "/v1/messages", "{}"},
             {"GET", "/v1/subjects/m-1/history", ""},
             {"POST", "/webhooks/email/bounce", R"({"address":"a@example.jp","type":"hard"})"},
             {"POST", "/webhooks/status", R"({"provider_message_id":"x","status":"sent"})"}}) {
      auto r = env.request(method, target, body, h);
      EXPECT_EQ(r.status, 401) << value << " " << target << " " << r.body;
      EXPECT_FALSE(r.json().value("detail", "").empty()) << value << " " << target << r.body;
    }
  }
  EXPECT_EQ(env.snapshot(), before);
}

}  // namespace
}  // namespace web_testing
