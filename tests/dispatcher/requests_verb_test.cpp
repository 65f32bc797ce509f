// Subject requests (§4) from the command line, in the system of record: stop and erase record
// completed requests; one that came by letter is open until completed or refused; overdue is
// judged by its due date (received + 14 days) at an injected time; the subject's history shows
// the request.
#include <gtest/gtest.h>

#include <sstream>

#include "config/clock.hpp"
#include "dispatcher/dispatcher_env.hpp"

namespace {

using nlohmann::json;
using testing_support::DispatcherEnv;

std::vector<json> lines(const std::string& out) {
  std::vector<json> v;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) v.push_back(json::parse(line));
  return v;
}

std::string days_from_now(int days) {
  return dispatcher::format_rfc3339(dispatcher::system_now() + std::chrono::hours(24 * days));
}

TEST(RequestsVerb, StopAndEraseAreCompletedRequestsWithDueDates) {
  DispatcherEnv env;
  ASSERT_EQ(env.run({"stop", "m-1"}).exit_code, 0);
  ASSERT_EQ(env.run({"erase", "+819012345678"}).exit_code, 0);
  auto all = env.run({"requests", "--all"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  auto reqs = lines(all.out);
  ASSERT_EQ(reqs.size(), 2u) << all.out;
  for (const auto& r : reqs) {
    EXPECT_EQ(r["state"], "completed") << r;
    EXPECT_EQ(r["via"], "cli") << r;
    EXPECT_TRUE(r.contains("closed")) << r;
    EXPECT_EQ(dispatcher::parse_rfc3339(r["due"].get<std::string>()).value() -
                  dispatcher::parse_rfc3339(r["received"].get<std::string>()).value(),
              std::chrono::hours(24 * 14));
    EXPECT_EQ(r.dump().find("+8190"), std::string::npos) << "the subject key, not the number";
  }
  EXPECT_TRUE(lines(env.run({"requests"}).out).empty()) << "none open";
}

TEST(RequestsVerb, ALetterIsOpenUntilCompletedAndOverdueAfterTwoWeeks) {
  DispatcherEnv env;
  auto added = env.run({"requests", "add", "m-3", "disclosure", "--via", "letter"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const json req = json::parse(added.out);
  EXPECT_EQ(req["state"], "open");
  EXPECT_EQ(req["via"], "letter");
  const std::string id = req["id"];
  EXPECT_TRUE(lines(env.run({"requests", "--overdue"}).out).empty()) << "due in 14 days";
  auto late = lines(env.run({"requests", "--overdue", "--now", days_from_now(15)}).out);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0]["id"], id);
  EXPECT_TRUE(late[0]["overdue"].get<bool>());
  // One received three weeks ago is overdue now.
  ASSERT_EQ(
      env.run({"requests", "add", "m-4", "erase", "--received", days_from_now(-21)}).exit_code, 0);
  auto overdue = lines(env.run({"requests", "--overdue"}).out);
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0]["subject"], "m-4");
  auto listed = lines(env.run({"requests"}).out);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0]["subject"], "m-4") << "overdue first";

  auto done = env.run({"requests", "complete", id, "--note", "sent by post"});
  ASSERT_EQ(done.exit_code, 0) << done.err;
  EXPECT_EQ(json::parse(done.out)["state"], "completed");
  EXPECT_EQ(json::parse(done.out)["note"], "sent by post");
  auto again = env.run({"requests", "complete", id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already completed"), std::string::npos) << again.err;
  auto unknown = env.run({"requests", "refuse", "req-nope", "--reason", "x"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no subject request req-nope"), std::string::npos) << unknown.err;
  // The subject's history shows the request and its completion.
  std::vector<std::string> events;
  for (const auto& h : env.history("m-3")) events.push_back(h["event"]);
  EXPECT_EQ(events, (std::vector<std::string>{"request", "request_completed"}));
}

TEST(RequestsVerb, CarryingARequestOutCompletesTheOpenOneAndRefusalKeepsItsReason) {
  DispatcherEnv env;
  const json phoned =
      json::parse(env.run({"requests", "add", "m-5", "stop", "--via", "phone"}).out);
  const json other = json::parse(env.run({"requests", "add", "m-6", "erase"}).out);
  ASSERT_EQ(env.run({"stop", "m-5"}).exit_code, 0);
  auto all = lines(env.run({"requests", "--all"}).out);
  bool closed = false;
  for (const auto& r : all)
    if (r["id"] == phoned["id"]) {
      EXPECT_EQ(r["state"], "completed") << r;
      EXPECT_EQ(r["note"].get<std::string>().rfind("carried out: req-", 0), 0u) << r;
      closed = true;
    }
  EXPECT_TRUE(closed);
  auto refused = env.run({"requests", "refuse", other["id"], "--reason", "identity not confirmed"});
  ASSERT_EQ(refused.exit_code, 0) << refused.err;
  EXPECT_EQ(json::parse(refused.out)["state"], "refused");
  EXPECT_EQ(json::parse(refused.out)["reason"], "identity not confirmed");
  EXPECT_TRUE(lines(env.run({"requests"}).out).empty());
  auto bad = env.run({"requests", "add", "m-7", "delete"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("disclosure, stop or erase"), std::string::npos) << bad.err;
}

}  // namespace
