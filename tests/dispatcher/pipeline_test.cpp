// The spine end to end, through the real binary, a real redis-server and a real PostgreSQL:
// exactly once, nothing lost, graceful drain, scheduling and cancellation, dead letters.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <set>

#include "config/clock.hpp"
#include "dispatcher/dispatcher_env.hpp"

using namespace testing_support;
using nlohmann::json;

namespace {

// Decision rows in the system of record, and how many distinct messages they name.
std::int64_t audit_records(DispatcherEnv& env) {
  auto db = env.database().connect();
  return std::stoll(*db.exec("SELECT count(*) FROM audit WHERE event = 'decision'").rows[0][0]);
}
std::int64_t audited_messages(DispatcherEnv& env) {
  auto db = env.database().connect();
  return std::stoll(
      *db.exec("SELECT count(DISTINCT message_id) FROM audit WHERE event = 'decision'").rows[0][0]);
}

std::map<std::string, int> count_by_id(const std::vector<json>& lines) {
  std::map<std::string, int> n;
  for (const auto& l : lines) ++n[l["id"].get<std::string>()];
  return n;
}

std::vector<json> reminders(int count, const std::string& prefix = "r-") {
  std::vector<json> v;
  v.reserve(count);
  for (int i = 0; i < count; ++i) v.push_back(sms_reminder(prefix + std::to_string(i), i % 100));
  return v;
}

}  // namespace

TEST(Pipeline, TenThousandMessagesAreDeliveredOnceAndRecordedOnce) {
  DispatcherEnv env;
  auto msgs = reminders(10000);
  ASSERT_EQ(env.enqueue(msgs).exit_code, 0);
  auto run = env.run({"run", "--until-idle"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto lines = env.sms_lines();
  EXPECT_EQ(lines.size(), 10000u);
  EXPECT_EQ(count_by_id(lines).size(), 10000u);
  EXPECT_EQ(audit_records(env), 10000);
  EXPECT_EQ(audited_messages(env), 10000) << "one decision row per message";
  // Redis keeps only what waits: processed entries are gone from the stream.
  EXPECT_EQ(env.redis().run(dispatcher::redis::cmd("XLEN", "dsp:stream")).integer, 0);

  // The same 10,000 again: the idempotency records stop every one of them.
  ASSERT_EQ(env.enqueue(msgs).exit_code, 0);
  run = env.run({"run", "--until-idle"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(env.sms_lines().size(), 10000u);
  EXPECT_EQ(audit_records(env), 10000);
  EXPECT_NE(run.err.find("duplicates    10000"), std::string::npos) << run.err;
  EXPECT_EQ(env.pending(), 0u);
}

// How many consumers the group knows (XINFO CONSUMERS).
std::size_t group_consumers(DispatcherEnv& env) {
  auto r =
      env.redis().run(dispatcher::redis::cmd("XINFO", "CONSUMERS", "dsp:stream", "dispatchers"));
  return r.elements.size();
}

TEST(Pipeline, AConsumerKilledMidBatchLosesNothingAndDuplicatesNothing) {
  DispatcherEnv env("  batch_size: 500\n");
  const int total = 20000;
  ASSERT_EQ(env.enqueue(reminders(total)).exit_code, 0);
  auto victim = env.spawn({"run"});
  // Kill it while it is busy: once some, but not all, messages have reached the outbox.
  const bool busy =
      wait_until([&] { return read_lines(env.outbox() / "sms.jsonl").size() >= 2000; },
                 std::chrono::seconds(60));
  ::kill(victim.pid, SIGKILL);
  victim.wait();
  ASSERT_TRUE(busy);
  ASSERT_LT(read_lines(env.outbox() / "sms.jsonl").size(), static_cast<std::size_t>(total))
      << "the consumer finished before it could be killed; the test proves nothing";

  EXPECT_EQ(group_consumers(env), 1u) << "the killed consumer, holding entries";
  auto rescue = env.run({"run", "--until-idle"});
  ASSERT_EQ(rescue.exit_code, 0) << rescue.err;
  auto counts = count_by_id(env.sms_lines());
  EXPECT_EQ(counts.size(), static_cast<std::size_t>(total));
  for (const auto& [id, n] : counts) ASSERT_EQ(n, 1) << id << " delivered " << n << " times";
  EXPECT_EQ(env.pending(), 0u);
  // And exactly one decision row per message in the system of record.
  EXPECT_EQ(audit_records(env), total);
  EXPECT_EQ(audited_messages(env), total);
  // The rescuer left the group on its way out, and took the dead one (nothing left, long idle) with
  // it.
  EXPECT_EQ(group_consumers(env), 0u);
}

TEST(Pipeline, SigtermDrainsInFlightWorkAndExitsZero) {
  DispatcherEnv env;
  ASSERT_EQ(env.enqueue(reminders(5000)).exit_code, 0);
  auto p = env.spawn({"run"});
  ASSERT_TRUE(wait_until([&] { return !read_lines(env.outbox() / "sms.jsonl").empty(); },
                         std::chrono::seconds(30)));
  ::kill(p.pid, SIGTERM);
  auto r = p.wait();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(env.pending(), 0u) << "read but not acknowledged after a graceful stop";
  EXPECT_EQ(group_consumers(env), 0u) << "a consumer that stopped gracefully leaves the group";
  // What it read, it finished: every delivered id is recorded, and a second run delivers the rest
  // once.
  auto rest = env.run({"run", "--until-idle"});
  ASSERT_EQ(rest.exit_code, 0);
  auto counts = count_by_id(env.sms_lines());
  EXPECT_EQ(counts.size(), 5000u);
  for (const auto& [id, n] : counts) ASSERT_EQ(n, 1) << id;
}

TEST(Pipeline, ScheduledMessagesWaitUntilDueAndCancelledOnesNeverGo) {
  DispatcherEnv env;
  // Due in an hour: the first run (the real clock) must hold it, the second (a rehearsal clock,
  // run --now, past the due time) must send it. No wall-clock window to race.
  const auto due = std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now() + std::chrono::hours(1));
  const std::string send_at = dispatcher::format_rfc3339(due);
  auto later = sms_reminder("later-1", 1);
  later["send_at"] = send_at;
  auto cancelled = sms_reminder("later-2", 2);
  cancelled["send_at"] = send_at;
  auto now_msg = sms_reminder("now-1", 3);
  ASSERT_EQ(env.enqueue({later, cancelled, now_msg}).exit_code, 0);
  ASSERT_EQ(env.run({"cancel", "later-2"}).exit_code, 0);

  auto first = env.run({"run", "--until-idle"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto counts = count_by_id(env.sms_lines());
  EXPECT_EQ(counts.count("now-1"), 1u);
  EXPECT_EQ(counts.count("later-1"), 0u) << "delivered before it was due";

  auto second = env.run(
      {"run", "--until-idle", "--now", dispatcher::format_rfc3339(due + std::chrono::seconds(1))});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  counts = count_by_id(env.sms_lines());
  EXPECT_EQ(counts["later-1"], 1);
  EXPECT_EQ(counts.count("later-2"), 0u) << "a cancelled message was delivered";
  // Cancelling what was already sent is refused, and says so.
  auto again = env.run({"cancel", "later-1"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("already decided"), std::string::npos) << again.err;
}

TEST(Pipeline, EachMalformedMessageIsDeadLetteredWithItsOwnReasonAndTheConsumerGoesOn) {
  DispatcherEnv env;
  ASSERT_EQ(env.put_subscribers({{{"id", "m-1"},
                                  {"member", true},
                                  {"clinics", {"c-1", "c-102"}},
                                  {"phone", "+819012345678"}}})
                .exit_code,
            0);
  auto base = sms_reminder("ok-0", 0);
  auto with = [&](const std::string& id, auto&& change) {
    json m = base;
    m["id"] = id;
    change(m);
    return m.dump();
  };
  std::map<std::string, std::string> cases = {
      {"invalid_message:not_json", "{not json"},
      {"invalid_message:not_object", "[1,2]"},
      {"invalid_message:missing_id", with("x", [](json& m) { m.erase("id"); })},
      {"invalid_message:unknown_purpose", with("b1", [](json& m) { m["purpose"] = "gossip"; })},
      {"invalid_message:unknown_channel", with("b2", [](json& m) { m["channels"] = {"fax"}; })},
      {"invalid_message:bad_send_at", with("b3", [](json& m) { m["send_at"] = "tomorrow"; })},
      {"invalid_message:bad_expires_at",
       with("b4", [](json& m) { m["expires_at"] = "2026-13-01T00:00:00Z"; })},
      {"invalid_message:invalid_email", with("b5",
                                             [](json& m) {
                                               m["to"]["contact"] = {{"email", "not-an-address"}};
                                             })},
      {"invalid_message:invalid_phone", with("b6",
                                             [](json& m) {
                                               m["to"]["contact"] = {{"phone", "090-1234-567"}};
                                             })},
      {"invalid_message:missing_clinic", with("b7", [](json& m) { m["to"].erase("clinic"); })},
      {"invalid_message:missing_source", with("b8", [](json& m) { m["to"].erase("source"); })},
      {"invalid_message:unknown_template", with("b9", [](json& m) { m["template"] = "no.such"; })},
      {"invalid_message:unknown_subscriber", with("b10",
                                                  [](json& m) {
                                                    m["to"] = {{"subscriber", "m-404"}};
                                                  })},
      {"invalid_message:bad_sender", with("b11", [](json& m) { m["sender"] = "someone"; })},
      {"invalid_message:missing_to", with("b12", [](json& m) { m.erase("to"); })},
      {"template_missing_variable:name", with("b13", [](json& m) { m["data"].erase("name"); })},
  };
  // Written to the stream directly (enqueue refuses what it can tell is not a message), then a
  // good one after all the bad ones.
  std::vector<std::string> lines;
  for (const auto& [reason, line] : cases) lines.push_back(line);
  lines.push_back(base.dump());
  env.xadd_raw(lines);
  auto r = env.run({"run", "--until-idle"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  std::map<std::string, json> by_reason;
  for (const auto& d : env.dead_letters()) by_reason[d["reason"].get<std::string>()] = d;
  for (const auto& [reason, line] : cases) {
    ASSERT_EQ(by_reason.count(reason), 1u) << "no dead letter with " << reason;
    EXPECT_EQ(by_reason[reason]["payload"], line) << "the original payload travels with " << reason;
    EXPECT_FALSE(by_reason[reason]["detail"].get<std::string>().empty());
  }
  EXPECT_EQ(count_by_id(env.sms_lines())["ok-0"], 1) << "the consumer stopped after bad input";
  EXPECT_EQ(env.pending(), 0u);
}

TEST(Pipeline, SubscribersResolveAndHistoryHoldsTheDecisionWithoutContactData) {
  DispatcherEnv env;
  ASSERT_EQ(env.put_subscribers({{{"id", "m-9"},
                                  {"member", true},
                                  {"clinics", {"c-1", "c-102"}},
                                  {"email", "hanako@example.jp"},
                                  {"phone", "+819099998888"},
                                  {"tz", "Asia/Tokyo"}}})
                .exit_code,
            0);
  json m = sms_reminder("sub-1", 0);
  m["to"] = {{"subscriber", "m-9"}};
  m["channels"] = {"push", "sms"};
  ASSERT_EQ(env.enqueue({m}).exit_code, 0);
  ASSERT_EQ(env.run({"run", "--until-idle"}).exit_code, 0);
  auto lines = env.sms_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["to"], "+819099998888");
  auto h = env.history("m-9");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0]["decision"], "send");
  EXPECT_EQ(h[0]["channel"], "sms");
  EXPECT_EQ(h[0]["id"], "sub-1");
  EXPECT_EQ(h[0].dump().find("+8190"), std::string::npos);
  EXPECT_EQ(h[0].dump().find("hanako"), std::string::npos);
}

// A number as people write it is its E.164 form to the whole pipeline: the SMS goes to the
// E.164 number, and an opt-out recorded under the E.164 number stops the written one.
TEST(Pipeline, AWrittenPhoneNumberIsTheSamePersonAsItsE164Form) {
  DispatcherEnv env;
  auto written = sms_reminder("w-1", 1);
  written["to"]["contact"]["phone"] = "090-1234-5678";
  auto wide = sms_reminder("w-2", 2);
  wide["to"]["contact"]["phone"] =  // ０９０－５５５５－６６６６
      "\uFF10\uFF19\uFF10\uFF0D\uFF15\uFF15\uFF15\uFF15\uFF0D\uFF16\uFF16\uFF16\uFF16";
  auto out = env.run({"optout", "+819055556666", "all"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto explained = env.run({"explain", "-"}, wide.dump() + "\n");
  EXPECT_NE(explained.out.find("opted_out"), std::string::npos) << explained.out;
  ASSERT_EQ(env.enqueue({written, wide}).exit_code, 0);
  auto run = env.run({"run", "--until-idle"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto lines = env.sms_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["id"], "w-1");
  EXPECT_EQ(lines[0]["to"], "+819012345678");
  EXPECT_TRUE(env.dead_letters().empty());
}
