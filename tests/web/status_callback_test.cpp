// Provider delivery-status callbacks end to end: `run` sends through a Twilio stand-in that was
// given a StatusCallback, remembers which message each Twilio sid belongs to, and `serve` writes
// each signed callback into that subject's audit; a callback saying the number is dead
// suppresses it, so the next message is denied address_suppressed:sms.
#include <gtest/gtest.h>

#include <cstdlib>

#include "channels/support/standin.hpp"
#include "web/text.hpp"
#include "web/webhooks.hpp"
#include "web_env.hpp"

namespace web_testing {
namespace {

using nlohmann::json;
namespace ct = dispatcher::channels::testing;

json reminder(const std::string& id, const std::string& phone) {
  return {{"id", id},
          {"sender", "clinic:c-102"},
          {"purpose", "reservation"},
          {"to",
           {{"contact", {{"phone", phone}}}, {"clinic", "c-102"}, {"source", "patient_registry"}}},
          {"channels", {"sms"}},
          {"template", "reservation.reminder"},
          {"data",
           {{"name", "患者"},
            {"clinic_name", "さくら歯科"},
            {"starts_at", "12月1日 10:00"},
            {"clinic_phone", "03-1234-5678"},
            {"reservation_url", "https://example.jp/r"}}}};
}

std::vector<json> history(WebEnv& env, const std::string& subject) {
  auto r = env.run({"history", subject});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> out;
  std::size_t start = 0;
  while (start < r.out.size()) {
    auto nl = r.out.find('\n', start);
    if (nl == std::string::npos) nl = r.out.size();
    if (nl > start) out.push_back(json::parse(r.out.substr(start, nl - start), nullptr, false));
    start = nl + 1;
  }
  return out;
}

std::string sid_of(const std::vector<json>& h, const std::string& id) {
  for (const auto& rec : h)
    if (rec.value("id", "") == id && rec.value("decision", "") == "send")
      return rec.value("provider_message_id", "");
  return {};
}

TEST(Webhooks, DeliveryStatusCallbacksAreAuditedAndDeadNumbersSuppressed) {
  ct::TempDir certs;
  const auto cert = ct::make_cert(certs);
  ct::HttpStandin twilio(certs, "twilio", &cert);
  ::setenv("STATUS_TEST_TWILIO_TOKEN", "status-token-0123456789", 1);
  const std::string callback = "https://hooks.example.jp/webhooks/status";
  WebEnv env({"--twilio-auth-token-env", "STATUS_TEST_TWILIO_TOKEN", "--public-url",
              "https://hooks.example.jp"},
             {},
             "channels:\n  sms:\n    - {type: twilio, account_sid: AC0123456789, auth_token_env: "
             "STATUS_TEST_TWILIO_TOKEN, from: \"+815012345678\", base_url: \"" +
                 twilio.base() + "\", ca_file: \"" + cert.cert + "\", status_callback: \"" +
                 callback + "\"}\n");
  const std::string alive = "+819012347001", dead = "+819012347002";
  ASSERT_EQ(env.run({"enqueue", "-"},
                    reminder("st-1", alive).dump() + "\n" + reminder("st-2", dead).dump() + "\n")
                .exit_code,
            0);
  auto run = env.run({"run", "--until-idle"});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  // Twilio was asked to call back.
  auto requests = twilio.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_NE(requests[0].dump().find("StatusCallback"), std::string::npos) << requests[0].dump();

  const std::string sid_alive = sid_of(history(env, alive), "st-1"),
                    sid_dead = sid_of(history(env, dead), "st-2");
  ASSERT_FALSE(sid_alive.empty());
  ASSERT_FALSE(sid_dead.empty());

  auto signed_post = [&](const std::vector<std::pair<std::string, std::string>>& fields,
                         bool sign = true) {
    std::string body;
    for (const auto& [k, v] : fields) body += (body.empty() ? "" : "&") + k + "=" + v;
    std::map<std::string, std::string> headers;
    if (sign)
      headers["X-Twilio-Signature"] =
          dispatcher::web::twilio_signature("status-token-0123456789", callback, fields);
    return env.post_form("/webhooks/status", body, headers);
  };

  // Unsigned or forged: refused, nothing written.
  auto before = env.snapshot();
  EXPECT_EQ(signed_post({{"MessageSid", sid_alive}, {"MessageStatus", "delivered"}}, false).status,
            403);
  EXPECT_EQ(
      env.post_form("/webhooks/status", "MessageSid=" + sid_alive + "&MessageStatus=delivered",
                    {{"X-Twilio-Signature", "AAAA"}})
          .status,
      403);
  EXPECT_EQ(env.snapshot(), before);

  // Delivered: one audit record on the subject, naming the message and the status.
  auto ok = signed_post(
      {{"MessageSid", sid_alive}, {"MessageStatus", "delivered"}, {"AccountSid", "AC0123456789"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json()["status"], "recorded");
  auto h = history(env, alive);
  ASSERT_FALSE(h.empty());
  EXPECT_EQ(h.back()["event"], "delivery_status");
  EXPECT_EQ(h.back()["id"], "st-1");
  EXPECT_EQ(h.back()["provider_message_id"], sid_alive);
  EXPECT_EQ(h.back()["status"], "delivered") << h.back().dump();

  // Undelivered with 30005 (unknown handset): audited and the number suppressed.
  auto bad = signed_post(
      {{"MessageSid", sid_dead}, {"MessageStatus", "undelivered"}, {"ErrorCode", "30005"}});
  ASSERT_EQ(bad.status, 200) << bad.body;
  auto hd = history(env, dead);
  ASSERT_FALSE(hd.empty());
  EXPECT_EQ(hd.back()["event"], "delivery_status");
  EXPECT_EQ(hd.back()["reason"], "address_suppressed:sms");
  EXPECT_EQ(hd.back()["error_code"], "30005") << hd.back().dump();
  auto next = env.run({"explain", "-"}, reminder("st-3", dead).dump() + "\n");
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_EQ(json::parse(next.out)["reason"], "address_suppressed:sms") << next.out;
  auto still = env.run({"explain", "-"}, reminder("st-4", alive).dump() + "\n");
  EXPECT_EQ(json::parse(still.out)["decision"], "send") << "a delivered number stays usable";

  // A sid we never sent: acknowledged (so Twilio does not retry) and nothing written.
  before = env.snapshot();
  auto unknown = signed_post(
      {{"MessageSid", "SM00000000000000000000000000000000"}, {"MessageStatus", "delivered"}});
  EXPECT_EQ(unknown.status, 200);
  EXPECT_EQ(unknown.json()["status"], "unknown_message");
  EXPECT_EQ(env.snapshot(), before);

  // The JSON shape for other providers needs the operator's key and a well-formed report.
  EXPECT_EQ(
      env.post_json("/webhooks/status", {{"provider_message_id", sid_alive}, {"status", "read"}})
          .status,
      401);
  EXPECT_EQ(env.post_json("/webhooks/status",
                          {{"provider_message_id", sid_alive}, {"status", "read"}}, env.clinic_key)
                .status,
            401);
  EXPECT_EQ(env.post_json("/webhooks/status", {{"status", "read"}}, env.operator_key).status, 400);
  EXPECT_EQ(env.post_json("/webhooks/status",
                          {{"provider_message_id", sid_alive}, {"status", "Bad Status"}},
                          env.operator_key)
                .status,
            400);
  EXPECT_EQ(
      env.post_json(
             "/webhooks/status",
             {{"provider_message_id", sid_alive}, {"status", "read"}, {"address_dead", "yes"}},
             env.operator_key)
          .status,
      400);
  EXPECT_EQ(env.snapshot(), before);
  auto json_ok =
      env.post_json("/webhooks/status", {{"provider_message_id", sid_alive}, {"status", "read"}},
                    env.operator_key);
  ASSERT_EQ(json_ok.status, 200) << json_ok.body;
  EXPECT_EQ(history(env, alive).back()["status"], "read");
  // Nothing personal reaches the metrics.
  auto m = env.get("/metrics").body;
  EXPECT_NE(m.find("dispatcher_webhooks_total{kind=\"status\",result=\"recorded\"} 3"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("819012347"), std::string::npos);
}

}  // namespace
}  // namespace web_testing
