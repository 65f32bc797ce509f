// Redis's hot state is a cache of the system of record: after Redis lost everything (FLUSHALL),
// `run` rebuilds the opt-outs, consents, suppressions and erasure markers from PostgreSQL before
// it sends anything, so an opt-out is never lost with Redis; the log it replays holds no
// address or number.
#include "store/hot_state.hpp"

#include <gtest/gtest.h>

#include "dispatcher/dispatcher_env.hpp"

namespace {

using nlohmann::json;
using testing_support::DispatcherEnv;
using testing_support::sms_reminder;

json member(const std::string& id, const std::string& phone) {
  return {{"id", id},           {"member", true},
          {"clinics", {"c-1"}}, {"email", id + "@example.jp"},
          {"phone", phone},     {"tz", "Asia/Tokyo"}};
}

json reminder(const std::string& id, const std::string& subscriber) {
  json m = sms_reminder(id, 0);
  m["to"] = {{"subscriber", subscriber}};
  return m;
}

std::string last_reason(DispatcherEnv& env, const std::string& subject, const std::string& id) {
  std::string reason = "(none)";
  for (const auto& h : env.history(subject))
    if (h.value("event", "") == "decision" && h.value("id", "") == id)
      reason = h.value("decision", "") == "send" ? "send" : h.value("reason", "");
  return reason;
}

TEST(HotState, ARedisThatLostEverythingIsRebuiltBeforeAnythingIsSent) {
  DispatcherEnv env;
  const std::vector<json> members = {member("m-out", "+819033330001"),
                                     member("m-ok", "+819033330002"),
                                     member("m-gone", "+819033330003")};
  ASSERT_EQ(env.put_subscribers(members).exit_code, 0);
  ASSERT_EQ(env.run({"optout", "m-out", "all"}).exit_code, 0);
  ASSERT_EQ(env.run({"erase", "m-gone"}).exit_code, 0);
  ASSERT_EQ(env.run({"suppression", "add", "+819012000005"}).exit_code, 0);

  // Redis loses everything; the booking system puts its subscribers back.
  env.redis().run(dispatcher::redis::cmd("FLUSHALL"));
  ASSERT_EQ(env.put_subscribers(members).exit_code, 0);
  ASSERT_EQ(env.enqueue({reminder("h-out", "m-out"), reminder("h-ok", "m-ok"),
                         reminder("h-gone", "m-gone"), sms_reminder("h-sup", 5)})
                .exit_code,
            0);
  auto run = env.run({"run", "--until-idle"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("rebuilt"), std::string::npos) << run.err;
  EXPECT_EQ(last_reason(env, "m-out", "h-out"), "opted_out:all");
  EXPECT_EQ(last_reason(env, "m-ok", "h-ok"), "send");
  EXPECT_EQ(last_reason(env, "m-gone", "h-gone"), "subject_erased");
  EXPECT_EQ(last_reason(env, "+819012000005", "h-sup"), "address_suppressed:sms");
  EXPECT_EQ(env.sms_lines().size(), 1u) << "only m-ok's reminder went out";

  // Once rebuilt, the next run finds the generation and replays nothing.
  run = env.run({"run", "--until-idle"});
  EXPECT_EQ(run.err.find("rebuilt"), std::string::npos) << run.err;
  // By hand, it is the same replay.
  auto by_hand = env.run({"state", "rebuild"});
  ASSERT_EQ(by_hand.exit_code, 0) << by_hand.err;
  EXPECT_NE(by_hand.out.find("commands replayed"), std::string::npos) << by_hand.out;

  auto db = env.database().connect();
  const std::string log =
      db.exec("SELECT coalesce(string_agg(commands::text, ' '), '') FROM hot_state_log")
          .rows.at(0)
          .at(0)
          .value_or("");
  EXPECT_FALSE(log.empty());
  for (const char* personal : {"@example.jp", "33330001", "33330003", "12000005"})
    EXPECT_EQ(log.find(personal), std::string::npos) << personal << " in " << log;
}

TEST(HotState, OnlyHotKeysAreLoggedAndArgumentsAreMasked) {
  dispatcher::Keys k;
  const auto logged = dispatcher::hot_state_commands(
      k, {dispatcher::redis::cmd("HSET", k.state("m-1"), "optout:all", "2026-12-01T00:00:00Z"),
          dispatcher::redis::cmd("HSET", k.subscriber("m-1"), "json", "{\"email\":\"a@b.jp\"}"),
          dispatcher::redis::cmd("HSET", k.address("abc"), "suppressed",
                                 "{\"error\":\"550 <taro@example.jp> unknown\"}"),
          dispatcher::redis::cmd("ZADD", k.frequency("m-1"), "1", "x"),
          dispatcher::redis::cmd("DEL", k.state("m-2"))});
  ASSERT_EQ(logged.size(), 3u) << "state, addr and the DEL; never sub: or freq:";
  EXPECT_EQ(logged[0].argv[1], k.state("m-1"));
  EXPECT_EQ(logged[1].argv[3].find("taro@example.jp"), std::string::npos) << logged[1].argv[3];
  EXPECT_EQ(logged[2].argv[0], "DEL");
}

}  // namespace
