// The subject requests' pure parts: which subjects a path may name, what each body asks for,
// the record kept with its due date, and the history export.
#include "web/subjects.hpp"

#include <gtest/gtest.h>

namespace dispatcher::web {
namespace {

using nlohmann::json;

const policy::Policy& shipped_policy() {
  static const auto p = policy::Policy::load(DISPATCHER_SOURCE_DIR "/config/policy.yaml");
  return p;
}

const std::string secret(64, 's');

std::optional<std::string> problem(const std::string& subject) {
  return subject_problem(subject, resolve_subject(subject, secret));
}

TEST(SubjectName, IsPrintableBoundedAndARealAddressWhenItLooksLikeOne) {
  EXPECT_EQ(problem("m-1"), std::nullopt);
  EXPECT_EQ(problem("+819099998888"), std::nullopt);
  EXPECT_EQ(problem("taro@example.jp"), std::nullopt);
  EXPECT_EQ(problem(""), "bad subject");
  EXPECT_EQ(problem(std::string("m\xFF\0", 3)), "bad subject");
  EXPECT_EQ(problem("m 1"), "bad subject");
  EXPECT_EQ(problem(std::string(321, 'm')), "bad subject");
  EXPECT_EQ(problem("+81"), "not an e-mail address or E.164 number");
  EXPECT_EQ(problem("taro@"), "not an e-mail address or E.164 number");
}

std::string refusal(SubjectAction a, const std::string& body) {
  auto parsed = parse_subject_body(a, body, 32, shipped_policy());
  return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
}

SubjectBody change(SubjectAction a, const std::string& body) {
  auto parsed = parse_subject_body(a, body, 32, shipped_policy());
  EXPECT_TRUE(std::holds_alternative<SubjectBody>(parsed)) << body;
  return std::holds_alternative<SubjectBody>(parsed) ? std::get<SubjectBody>(parsed)
                                                     : SubjectBody{};
}

TEST(SubjectBody, OptOutAndInNeedAKnownScope) {
  EXPECT_EQ(change(SubjectAction::optout, R"({"scope":"purpose:survey"})").scope, "purpose:survey");
  EXPECT_EQ(change(SubjectAction::optin, R"({"scope":"all"})").scope, "all");
  EXPECT_EQ(refusal(SubjectAction::optout, ""), "scope required");
  EXPECT_EQ(refusal(SubjectAction::optout, R"({"scope":1})"), "scope required");
  EXPECT_FALSE(refusal(SubjectAction::optout, R"({"scope":"bogus"})").empty());
  EXPECT_EQ(refusal(SubjectAction::optout, R"({"scope":"purpose:lottery"})"), "unknown purpose");
  EXPECT_EQ(refusal(SubjectAction::optout, "{bad"), "expected a JSON object");
  EXPECT_EQ(refusal(SubjectAction::optout, "[]"), "expected a JSON object");
  EXPECT_EQ(refusal(SubjectAction::optout, std::string(40, '[') + std::string(40, ']')),
            "too deep");
}

TEST(SubjectBody, StopTakesAnOptionalKnownPurposeAndHistoryAndEraseNoBody) {
  EXPECT_EQ(change(SubjectAction::stop, "").purpose, "");
  EXPECT_EQ(change(SubjectAction::stop, "{}").purpose, "");
  EXPECT_EQ(change(SubjectAction::stop, R"({"purpose":"survey"})").purpose, "survey");
  EXPECT_EQ(refusal(SubjectAction::stop, R"({"purpose":"bogus"})"), "unknown purpose");
  EXPECT_EQ(refusal(SubjectAction::stop, R"({"purpose":7})"), "purpose must be a string");
  change(SubjectAction::history, "{bad");
  change(SubjectAction::erase, "{bad");
}

TEST(SubjectRequest, KindsAndDoneStatuses) {
  EXPECT_EQ(request_kind(SubjectAction::history), "disclosure");
  EXPECT_EQ(request_kind(SubjectAction::erase), "erase");
  EXPECT_EQ(request_kind(SubjectAction::stop), "stop");
  EXPECT_EQ(done_status(SubjectAction::optout), "opted_out");
  EXPECT_EQ(done_status(SubjectAction::optin), "opted_in");
  EXPECT_EQ(done_status(SubjectAction::stop), "stopped");
  EXPECT_EQ(done_status(SubjectAction::erase), "erased");
  for (auto a : {SubjectAction::history, SubjectAction::optout, SubjectAction::optin,
                 SubjectAction::stop, SubjectAction::erase})
    EXPECT_NE(to_string(a), "?");
}

TEST(SubjectRequest, ChangesAreTheStoresCommands) {
  const Keys k;
  const SubjectRef ref{"m-1", {}};
  const TimePoint now = parse_rfc3339("2026-11-30T10:00:00+09:00").value();
  auto out = change_of(k, ref, SubjectAction::optout, {"all", ""}, "api:operator", now);
  auto want = optout_change(k, ref, "all", true, "api:operator", now);
  ASSERT_EQ(out.redis.size(), want.redis.size());
  for (std::size_t i = 0; i < out.redis.size(); ++i)
    EXPECT_EQ(out.redis[i].argv, want.redis[i].argv);
  ASSERT_EQ(out.audit.size(), 1u);
  EXPECT_EQ(to_json(out.audit[0]), to_json(want.audit[0]));
  auto in = change_of(k, ref, SubjectAction::optin, {"all", ""}, "api:operator", now);
  EXPECT_EQ(in.redis.front().argv,
            optout_change(k, ref, "all", false, "api:operator", now).redis.front().argv);
  auto stop = change_of(k, ref, SubjectAction::stop, {"", "survey"}, "api:operator", now);
  EXPECT_EQ(stop.redis.front().argv,
            stop_change(k, ref, "survey", "api:operator", now).redis.front().argv);
  auto none = change_of(k, ref, SubjectAction::history, {}, "x", now);
  EXPECT_TRUE(none.redis.empty() && none.audit.empty());
}

}  // namespace
}  // namespace dispatcher::web
