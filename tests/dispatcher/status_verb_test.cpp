// `dispatcher status ID`: where a message is, from the system of record and the queue, as the
// one JSON line DESIGN.md gives, through its states; ids are per sender.
#include <gtest/gtest.h>

#include "dispatcher/dispatcher_env.hpp"

namespace {

using nlohmann::json;
using testing_support::DispatcherEnv;
using testing_support::sms_reminder;

json status(DispatcherEnv& env, const std::vector<std::string>& args) {
  std::vector<std::string> a{"status"};
  a.insert(a.end(), args.begin(), args.end());
  auto r = env.run(a);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? json::parse(r.out) : json();
}

TEST(StatusVerb, WalksQueuedScheduledSentDeniedAndDead) {
  DispatcherEnv env;
  json later = sms_reminder("s-2", 2);
  later["send_at"] = "2099-01-01T10:00:00+09:00";
  json unknown = sms_reminder("s-4", 4);
  unknown["to"] = {{"subscriber", "m-nobody"}};
  ASSERT_EQ(env.run({"optout", "+819012000003", "all"}).exit_code, 0);
  ASSERT_EQ(env.enqueue({sms_reminder("s-1", 1), later, sms_reminder("s-3", 3)}).exit_code, 0);
  env.xadd_raw({unknown.dump()});  // a producer other than enqueue: dead-lettered when taken

  EXPECT_EQ(status(env, {"s-1"}),
            (json{{"id", "s-1"}, {"sender", "clinic:c-1"}, {"state", "queued"}}));
  auto scheduled = status(env, {"s-2"});
  EXPECT_EQ(scheduled["state"], "scheduled");
  EXPECT_EQ(scheduled["until"], "2099-01-01T10:00:00+09:00");

  auto run = env.run({"run", "--until-idle"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto sent = status(env, {"s-1"});
  EXPECT_EQ(sent["state"], "sent");
  EXPECT_EQ(sent["channel"], "sms");
  EXPECT_EQ(sent["attempts"], 1);
  EXPECT_TRUE(sent.contains("provider_message_id")) << sent;
  EXPECT_TRUE(sent.contains("updated_at")) << sent;
  EXPECT_FALSE(sent.contains("reason"));
  auto denied = status(env, {"s-3"});
  EXPECT_EQ(denied["state"], "denied");
  EXPECT_EQ(denied["reason"], "opted_out:all");
  EXPECT_EQ(status(env, {"s-2"})["state"], "scheduled") << "still waiting";
  // Dead letters are looked up with --sender (the id never went through enqueue).
  auto dead = status(env, {"s-4", "--sender", "clinic:c-1"});
  EXPECT_EQ(dead["state"], "dead");
  EXPECT_EQ(dead["reason"], "invalid_message:unknown_subscriber");
  ASSERT_EQ(env.run({"cancel", "s-2"}).exit_code, 0);
  auto cancelled = status(env, {"s-2"});
  EXPECT_EQ(cancelled["state"], "cancelled");
  EXPECT_EQ(cancelled["reason"], "cancelled");
}

TEST(StatusVerb, AnUnknownIdOrAnotherSendersIsAnErrorAndTwoSendersNeedSender) {
  DispatcherEnv env;
  json b = sms_reminder("dup-1", 2);
  b["sender"] = "clinic:c-2";
  b["to"]["clinic"] = "c-2";
  ASSERT_EQ(env.enqueue({sms_reminder("dup-1", 1), b}).exit_code, 0);
  auto never = env.run({"status", "never-seen"});
  EXPECT_EQ(never.exit_code, 1);
  EXPECT_NE(never.err.find("never-seen"), std::string::npos) << never.err;
  auto ambiguous = env.run({"status", "dup-1"});
  EXPECT_EQ(ambiguous.exit_code, 1);
  EXPECT_NE(ambiguous.err.find("--sender"), std::string::npos) << ambiguous.err;
  EXPECT_EQ(status(env, {"dup-1", "--sender", "clinic:c-2"})["sender"], "clinic:c-2");
  auto other = env.run({"status", "dup-1", "--sender", "clinic:c-9"});
  EXPECT_EQ(other.exit_code, 1) << other.out;
}

}  // namespace
