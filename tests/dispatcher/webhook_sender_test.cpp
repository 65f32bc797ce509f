// Sender webhooks end to end: `run` POSTs each state change of a sender's messages to a real
// loopback receiver that checks the signature; a receiver that fails gets the event again
// later (bounded), and once it accepts never again; an event never accepted is given up.
#include "dispatcher/webhook_sender.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "channels/support/standin.hpp"
#include "dispatcher/dispatcher_env.hpp"

namespace {

using nlohmann::json;
namespace ct = dispatcher::channels::testing;

TEST(WebhookSignature, IsHexHmacSha256OfTimeDotBody) {
  // python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test",
  //   b"1700000000.{\"id\":\"r-1\"}", hashlib.sha256).hexdigest())'
  EXPECT_EQ(dispatcher::webhook_signature("whsec_test", 1700000000, R"({"id":"r-1"})"),
            "t=1700000000,v1=fae5547827a932c41b89d1cfa001f246058effde091e0f1fbb6fb4bf04fda920");
}

TEST(WebhookRetryDelay, DoublesFromTheFirstUpToTheCeiling) {
  dispatcher::config::Config::Webhooks w;
  w.retry_first_ms = 30000;
  w.retry_max_ms = 3600000;
  EXPECT_EQ(dispatcher::webhook_retry_delay(1, w).count(), 30000);
  EXPECT_EQ(dispatcher::webhook_retry_delay(2, w).count(), 60000);
  EXPECT_EQ(dispatcher::webhook_retry_delay(4, w).count(), 240000);
  EXPECT_EQ(dispatcher::webhook_retry_delay(50, w).count(), 3600000);
}

// A receiver and a dispatcher whose clinic:c-1 posts to it.
struct Hooked {
  ct::TempDir dir;
  ct::HttpStandin receiver;
  testing_support::DispatcherEnv env;
  explicit Hooked(const json& script = {}, const std::string& extra = {})
      : receiver(dir, "webhook", nullptr, script, {}, {"--secret", "whsec_0123456789"}),
        env(config(receiver, extra)) {}
  static std::string config(const ct::HttpStandin& r, const std::string& extra) {
    ::setenv("TEST_WEBHOOK_SECRET", "whsec_0123456789", 1);
    return "webhooks:\n  retry_first_ms: 60000\n" + extra +
           "  senders:\n    \"clinic:c-1\": {url: \"" + r.base(false) +
           "/hooks/dispatcher\", secret_env: TEST_WEBHOOK_SECRET}\n";
  }
  std::vector<json> events() const {
    std::vector<json> out;
    for (const auto& r : receiver.requests()) {
      json e = json::parse(r["body"].get<std::string>());
      e["signature_ok"] = r["signature_ok"];
      out.push_back(e);
    }
    return out;
  }
  long long waiting() {
    auto db = env.database().connect();
    return std::stoll(*db.exec("SELECT count(*) FROM webhook_events").rows.at(0).at(0));
  }
};

std::string later(std::chrono::minutes m) {
  return dispatcher::format_rfc3339(dispatcher::system_now() + m);
}

TEST(SenderWebhooks, SentAndDeniedArriveSignedWithTheirReasonAndNoAddress) {
  Hooked h;
  ASSERT_EQ(h.env.run({"optout", "+819012000002", "all"}).exit_code, 0);
  json other = testing_support::sms_reminder("o-1", 3);
  other["sender"] = "clinic:c-2";  // no webhook: nothing is posted for it
  other["to"]["clinic"] = "c-2";
  ASSERT_EQ(h.env
                .enqueue({testing_support::sms_reminder("w-1", 1),
                          testing_support::sms_reminder("w-2", 2), other})
                .exit_code,
            0);
  auto run = h.env.run({"run", "--until-idle"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto events = h.events();
  ASSERT_EQ(events.size(), 2u) << run.err;
  std::map<std::string, json> by_id;
  for (const auto& e : events) by_id[e["id"]] = e;
  ASSERT_TRUE(by_id.count("w-1") && by_id.count("w-2"));
  EXPECT_EQ(by_id["w-1"]["state"], "sent");
  EXPECT_EQ(by_id["w-1"]["channel"], "sms");
  EXPECT_EQ(by_id["w-2"]["state"], "denied");
  EXPECT_EQ(by_id["w-2"]["reason"], "opted_out:all");
  for (const auto& e : events) {
    EXPECT_TRUE(e["signature_ok"].get<bool>()) << e;
    EXPECT_EQ(e.dump().find("81901"), std::string::npos) << "no phone number: " << e;
    const std::set<std::string> fields{"event_id", "id",   "state",       "reason",
                                       "channel",  "time", "signature_ok"};
    for (const auto& [name, value] : e.items()) EXPECT_TRUE(fields.count(name)) << name;
  }
  EXPECT_NE(by_id["w-1"]["event_id"], by_id["w-2"]["event_id"]);
  EXPECT_EQ(h.waiting(), 0) << "accepted events leave the table";
}

TEST(SenderWebhooks, AFailedDeliveryComesAgainLaterAndOnceAcceptedNeverAgain) {
  Hooked h(json{{"w-3", {{{"status", 500}, {"body", "down"}}}}});
  ASSERT_EQ(h.env.enqueue({testing_support::sms_reminder("w-3", 3)}).exit_code, 0);
  auto run = h.env.run({"run", "--until-idle"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_EQ(h.events().size(), 1u) << "tried once; the retry is a minute away";
  EXPECT_EQ(h.waiting(), 1);
  EXPECT_NE(run.err.find("HTTP 500"), std::string::npos) << run.err;
  // Two minutes on, the retry is due: the same event, now accepted.
  run = h.env.run({"run", "--until-idle", "--now", later(std::chrono::minutes(2))});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto events = h.events();
  ASSERT_EQ(events.size(), 2u) << run.err;
  EXPECT_EQ(events[0]["event_id"], events[1]["event_id"]) << "the receiver can dedupe";
  EXPECT_TRUE(events[1]["signature_ok"].get<bool>());
  EXPECT_EQ(h.waiting(), 0);
  // Later still: nothing more.
  run = h.env.run({"run", "--until-idle", "--now", later(std::chrono::minutes(90))});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(h.events().size(), 2u);
}

TEST(SenderWebhooks, AnEventNeverAcceptedIsGivenUpAfterItsHoursAndSaidSo) {
  Hooked h(json{{"w-4", json::array({{{"status", 503}}, {{"status", 503}}, {{"status", 503}}})}},
           "  give_up_hours: 1\n");
  ASSERT_EQ(h.env.enqueue({testing_support::sms_reminder("w-4", 4)}).exit_code, 0);
  ASSERT_EQ(h.env.run({"run", "--until-idle"}).exit_code, 0);
  EXPECT_EQ(h.waiting(), 1);
  auto run = h.env.run({"run", "--until-idle", "--now", later(std::chrono::minutes(120))});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(h.events().size(), 2u);
  EXPECT_EQ(h.waiting(), 0) << "dropped after the last try";
  EXPECT_NE(run.err.find("given up"), std::string::npos) << run.err;
}

TEST(SenderWebhooks, CancellationsAreEventsAndHistoryWhetherScheduledOrQueued) {
  Hooked h;
  json scheduled = testing_support::sms_reminder("w-5", 5);
  scheduled["send_at"] = "2099-01-01T10:00:00+09:00";
  ASSERT_EQ(h.env.enqueue({scheduled, testing_support::sms_reminder("w-6", 6)}).exit_code, 0);
  auto c = h.env.run({"cancel", "w-5"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  c = h.env.run({"cancel", "w-6"});  // still in the stream: the consumer records it
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto status = h.env.run({"status", "w-6"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(json::parse(status.out)["state"], "cancelled");
  auto run = h.env.run({"run", "--until-idle"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto events = h.events();
  ASSERT_EQ(events.size(), 2u) << run.err;
  for (const auto& e : events) {
    EXPECT_EQ(e["state"], "cancelled") << e;
    EXPECT_EQ(e["reason"], "cancelled") << e;
  }
  EXPECT_TRUE(h.env.sms_lines().empty()) << "neither was sent";
  for (const char* phone : {"+819012000005", "+819012000006"}) {
    auto history = h.env.history(phone);
    ASSERT_EQ(history.size(), 1u) << phone;
    EXPECT_EQ(history[0]["event"], "cancelled");
  }
}

}  // namespace
