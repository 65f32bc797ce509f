// The policy gate inside the running pipeline: erasure, the frequency cap, opt-outs that
// arrive after a campaign was scheduled, and quiet hours with a rehearsal clock.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "dispatcher/dispatcher_env.hpp"

using namespace testing_support;
using nlohmann::json;

namespace {

json member(const std::string& id, const std::string& tz = "Asia/Tokyo") {
  return {{"id", id},
          {"member", true},
          {"clinics", {"c-1", "c-102"}},
          {"email", id + "@example.jp"},
          {"phone", "+8190" + std::to_string(10000000 + std::hash<std::string>{}(id) % 89999999)},
          {"tz", tz}};
}

json advertising(const std::string& id, const std::string& to,
                 const std::string& channel = "email") {
  return {{"id", id},
          {"sender", "operator"},
          {"purpose", "advertising"},
          {"to", {{"subscriber", to}}},
          {"channels", {channel}},
          {"template", "advertising.newsletter"},
          {"campaign", "test-campaign"},
          {"data",
           {{"name", "会員"},
            {"headline", "お知らせ"},
            {"summary", "冬の特集"},
            {"article_url", "https://example.jp/a"}}}};
}

json reminder_to(const std::string& id, const json& to) {
  json m = sms_reminder(id, 0);
  m["to"] = to;
  m["channels"] = {"email", "sms"};
  return m;
}

std::map<std::string, json> last_decision_by_id(const std::vector<json>& history) {
  std::map<std::string, json> out;
  for (const auto& h : history)
    if (h.value("event", "") == "decision") out[h["id"].get<std::string>()] = h;
  return out;
}

}  // namespace

TEST(PolicyPipeline, ErasureRemovesContactDataAndBlocksTheSubjectByIdAndByAddress) {
  DispatcherEnv env;
  json m = member("m-erase");
  m["phone"] = "+819055556666";
  ASSERT_EQ(env.put_subscribers({m}).exit_code, 0);
  ASSERT_EQ(env.run({"consent", "m-erase", "email", "--source", "signup_form", "--wording", "v1"})
                .exit_code,
            0);
  ASSERT_EQ(env.enqueue({reminder_to("before", {{"subscriber", "m-erase"}})}).exit_code, 0);
  ASSERT_EQ(env.run({"run", "--until-idle"}).exit_code, 0);
  ASSERT_EQ(last_decision_by_id(env.history("m-erase"))["before"]["decision"], "send");

  ASSERT_EQ(env.run({"erase", "m-erase"}).exit_code, 0);
  for (const auto& h : env.history("m-erase")) {
    const std::string line = h.dump();
    EXPECT_EQ(line.find("m-erase@example.jp"), std::string::npos) << line;
    EXPECT_EQ(line.find("+819055556666"), std::string::npos) << line;
  }
  auto stored = env.redis().run(dispatcher::redis::cmd("EXISTS", "dsp:sub:m-erase"));
  EXPECT_EQ(stored.integer, 0) << "the subscriber record (contact data) survived erasure";

  // A producer re-adds the subject, and others address it inline by its old e-mail and phone.
  ASSERT_EQ(env.put_subscribers({m}).exit_code, 0);
  auto by_email = reminder_to("by-email", {{"contact", {{"email", "m-erase@example.jp"}}},
                                           {"clinic", "c-1"},
                                           {"source", "reservation_form"}});
  auto by_phone = reminder_to("by-phone", {{"contact", {{"phone", "+819055556666"}}},
                                           {"clinic", "c-1"},
                                           {"source", "patient_registry"}});
  ASSERT_EQ(env.enqueue({reminder_to("after", {{"subscriber", "m-erase"}}), by_email, by_phone})
                .exit_code,
            0);
  auto explain =
      env.run({"explain", "-"}, reminder_to("after", {{"subscriber", "m-erase"}}).dump() + "\n" +
                                    by_email.dump() + "\n" + by_phone.dump() + "\n");
  ASSERT_EQ(explain.exit_code, 0) << explain.err;
  std::istringstream lines(explain.out);
  int denied = 0;
  for (std::string line; std::getline(lines, line);) {
    auto j = json::parse(line);
    EXPECT_EQ(j["decision"], "deny") << line;
    EXPECT_EQ(j["reason"], "subject_erased") << line;
    ++denied;
  }
  EXPECT_EQ(denied, 3);
  ASSERT_EQ(env.run({"run", "--until-idle"}).exit_code, 0);
  EXPECT_EQ(last_decision_by_id(env.history("m-erase"))["after"]["reason"], "subject_erased");
  // The inline contacts are the re-added record's addresses, so they are that record (and its
  // erasure answers for them).
  EXPECT_EQ(last_decision_by_id(env.history("m-erase"))["by-email"]["reason"], "subject_erased");
  EXPECT_EQ(last_decision_by_id(env.history("m-erase"))["by-phone"]["reason"], "subject_erased");
  EXPECT_FALSE(std::filesystem::exists(env.outbox() / "email" / "operator+after.eml"));
}

TEST(PolicyPipeline, TheFourthMarketingMessageInTheWindowIsCapped) {
  DispatcherEnv env;
  ASSERT_EQ(env.put_subscribers({member("m-cap")}).exit_code, 0);
  ASSERT_EQ(env.run({"consent", "m-cap", "email", "--source", "signup_form"}).exit_code, 0);
  // Two batches: the cap must hold within a batch and across batches.
  ASSERT_EQ(env.enqueue({advertising("ad-1", "m-cap"), advertising("ad-2", "m-cap")}).exit_code, 0);
  ASSERT_EQ(env.run({"run", "--until-idle"}).exit_code, 0);
  ASSERT_EQ(env.enqueue({advertising("ad-3", "m-cap"), advertising("ad-4", "m-cap")}).exit_code, 0);
  ASSERT_EQ(env.run({"run", "--until-idle"}).exit_code, 0);
  auto d = last_decision_by_id(env.history("m-cap"));
  EXPECT_EQ(d["ad-1"]["decision"], "send");
  EXPECT_EQ(d["ad-2"]["decision"], "send");
  EXPECT_EQ(d["ad-3"]["decision"], "send");
  EXPECT_EQ(d["ad-4"]["decision"], "deny");
  EXPECT_EQ(d["ad-4"]["reason"], "frequency_capped");
  // A reminder is not marketing and is never capped.
  ASSERT_EQ(env.enqueue({reminder_to("rem", {{"subscriber", "m-cap"}})}).exit_code, 0);
  ASSERT_EQ(env.run({"run", "--until-idle"}).exit_code, 0);
  EXPECT_EQ(last_decision_by_id(env.history("m-cap"))["rem"]["decision"], "send");
}

TEST(PolicyPipeline, AnOptOutAfterACampaignWasScheduledStopsItForThatRecipientOnly) {
  DispatcherEnv env;
  ASSERT_EQ(env.put_subscribers({member("m-a"), member("m-b"), member("m-c")}).exit_code, 0);
  for (const char* m : {"m-a", "m-b", "m-c"})
    ASSERT_EQ(env.run({"consent", m, "email", "--source", "signup_form"}).exit_code, 0);
  std::vector<json> campaign;
  for (const char* m : {"m-a", "m-b", "m-c"}) {
    auto ad = advertising(std::string("camp-") + m, m);
    ad["send_at"] = "2027-01-10T10:00:00+09:00";
    campaign.push_back(ad);
  }
  auto enq = env.enqueue(campaign);
  ASSERT_EQ(enq.exit_code, 0);
  ASSERT_NE(enq.err.find("3 scheduled"), std::string::npos) << enq.err;
  ASSERT_EQ(env.run({"optout", "m-b", "purpose:advertising"}).exit_code, 0);
  // Before it is due nothing goes; when due, the gate sees the opt-out.
  ASSERT_EQ(env.run({"run", "--until-idle", "--now", "2027-01-10T09:59:00+09:00"}).exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(env.outbox() / "email" / "operator+camp-m-a.eml"));
  ASSERT_EQ(env.run({"run", "--until-idle", "--now", "2027-01-10T10:00:30+09:00"}).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(env.outbox() / "email" / "operator+camp-m-a.eml"));
  EXPECT_TRUE(std::filesystem::exists(env.outbox() / "email" / "operator+camp-m-c.eml"));
  EXPECT_FALSE(std::filesystem::exists(env.outbox() / "email" / "operator+camp-m-b.eml"));
  EXPECT_EQ(last_decision_by_id(env.history("m-b"))["camp-m-b"]["reason"],
            "opted_out:purpose:advertising");
}

TEST(PolicyPipeline, QuietHoursDeferUntilTheWindowOpensAndThenDeliverOnce) {
  DispatcherEnv env;
  ASSERT_EQ(env.put_subscribers({member("m-tokyo"), member("m-london", "Europe/London")}).exit_code,
            0);
  for (const char* m : {"m-tokyo", "m-london"})
    ASSERT_EQ(env.run({"consent", m, "sms", "--source", "signup_form"}).exit_code, 0);
  ASSERT_EQ(env.enqueue({advertising("q-tokyo", "m-tokyo", "sms"),
                         advertising("q-london", "m-london", "sms")})
                .exit_code,
            0);
  // 23:30 in Tokyo is 14:30 in London: Tokyo waits until 08:00 the next morning, London goes.
  ASSERT_EQ(env.run({"run", "--until-idle", "--now", "2026-11-25T23:30:00+09:00"}).exit_code, 0);
  auto tokyo = last_decision_by_id(env.history("m-tokyo"))["q-tokyo"];
  EXPECT_EQ(tokyo["decision"], "defer");
  EXPECT_EQ(tokyo["reason"], "quiet_hours");
  EXPECT_EQ(tokyo["until"], "2026-11-26T08:00:00+09:00");
  EXPECT_EQ(last_decision_by_id(env.history("m-london"))["q-london"]["decision"], "send");
  std::map<std::string, int> sent;
  for (const auto& l : env.sms_lines()) ++sent[l["id"].get<std::string>()];
  EXPECT_EQ(sent.count("q-tokyo"), 0u);

  // Still night at 07:59: nothing; once the window opens, delivered, and only once.
  ASSERT_EQ(env.run({"run", "--until-idle", "--now", "2026-11-26T07:59:00+09:00"}).exit_code, 0);
  sent.clear();
  for (const auto& l : env.sms_lines()) ++sent[l["id"].get<std::string>()];
  EXPECT_EQ(sent.count("q-tokyo"), 0u);
  ASSERT_EQ(env.run({"run", "--until-idle", "--now", "2026-11-26T08:00:05+09:00"}).exit_code, 0);
  ASSERT_EQ(env.run({"run", "--until-idle", "--now", "2026-11-26T09:00:00+09:00"}).exit_code, 0);
  sent.clear();
  for (const auto& l : env.sms_lines()) ++sent[l["id"].get<std::string>()];
  EXPECT_EQ(sent["q-tokyo"], 1);
  EXPECT_EQ(sent["q-london"], 1);

  // London's own night: 23:00 GMT defers until 08:00 London time.
  ASSERT_EQ(env.enqueue({advertising("q-london-2", "m-london", "sms")}).exit_code, 0);
  ASSERT_EQ(env.run({"run", "--until-idle", "--now", "2026-11-26T23:00:00Z"}).exit_code, 0);
  auto london = last_decision_by_id(env.history("m-london"))["q-london-2"];
  EXPECT_EQ(london["decision"], "defer");
  EXPECT_EQ(london["until"], "2026-11-27T08:00:00+00:00");
}

TEST(PolicyPipeline, ConsentIsRecordedWithItsProofAndShownInHistory) {
  DispatcherEnv env;
  ASSERT_EQ(env.put_subscribers({member("m-proof")}).exit_code, 0);
  ASSERT_EQ(env.run({"consent", "m-proof", "email", "--source", "campaign_form_2026", "--wording",
                     "optin-v7", "--by", "staff:sato"})
                .exit_code,
            0);
  auto h = env.history("m-proof");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0]["event"], "consent");
  EXPECT_EQ(h[0]["channel"], "email");
  EXPECT_EQ(h[0]["source"], "campaign_form_2026");
  EXPECT_EQ(h[0]["wording"], "optin-v7");
  EXPECT_EQ(h[0]["recorded_by"], "staff:sato");
  EXPECT_TRUE(h[0].contains("time"));
  // Bad input to the verbs is a clear one-line error.
  auto bad = env.run({"optout", "m-proof", "purpose:gossip"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("unknown purpose: gossip"), std::string::npos) << bad.err;
  bad = env.run({"consent", "m-proof", "fax", "--source", "x"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("channel must be"), std::string::npos) << bad.err;
}
