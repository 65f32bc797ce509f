// Where a message is: its audit records and what the queue holds, read together, for every
// state of DESIGN.md's list that the two can show.
#include "store/message_status.hpp"

#include <gtest/gtest.h>

#include "config/clock.hpp"

namespace dispatcher {
namespace {

using nlohmann::json;

pg::Rows rows(const std::vector<json>& records) {
  pg::Rows r;
  for (const auto& j : records) r.rows.push_back({j.dump()});
  return r;
}

redis::Reply nil() { return {}; }
redis::Reply str(std::string s) {
  redis::Reply r;
  r.type = redis::Reply::Type::string;
  r.str = std::move(s);
  return r;
}
redis::Reply integer(long long n) {
  redis::Reply r;
  r.type = redis::Reply::Type::integer;
  r.integer = n;
  return r;
}

// The queue's view: [ZSCORE scheduled, HGET attempts, GET done, SISMEMBER ids].
std::vector<redis::Reply> queue(redis::Reply due, redis::Reply attempts, redis::Reply done,
                                bool used) {
  return {std::move(due), std::move(attempts), std::move(done), integer(used ? 1 : 0)};
}
std::vector<redis::Reply> nothing_queued() { return queue(nil(), nil(), nil(), false); }

const json sent = {{"time", "2026-12-01T01:00:00Z"},
                   {"event", "decision"},
                   {"id", "r-1"},
                   {"decision", "send"},
                   {"channel", "sms"},
                   {"sender", "clinic:c-1"},
                   {"provider", "twilio"},
                   {"provider_message_id", "SM1"},
                   {"attempts", 1}};
const json deferred = {{"time", "2026-12-01T00:00:00Z"},
                       {"event", "decision"},
                       {"id", "r-1"},
                       {"decision", "defer"},
                       {"reason", "quiet_hours"},
                       {"until", "2026-12-01T08:00:00+09:00"},
                       {"sender", "clinic:c-1"}};

std::optional<MessageStatus> of(const std::vector<json>& records,
                                const std::vector<redis::Reply>& q) {
  return status_of("clinic:c-1", "r-1", rows(records), q, "UTC");
}

TEST(MessageStatus, TheLastDecisionIsTheStateWithItsDetails) {
  auto s = of({deferred, sent}, queue(nil(), nil(), str("send"), true));
  ASSERT_TRUE(s);
  EXPECT_EQ(to_json(*s), (json{{"id", "r-1"},
                               {"sender", "clinic:c-1"},
                               {"state", "sent"},
                               {"channel", "sms"},
                               {"provider_message_id", "SM1"},
                               {"attempts", 1},
                               {"updated_at", "2026-12-01T01:00:00Z"}}));
}

TEST(MessageStatus, EachRecordKindIsItsState) {
  auto with = [](json r) {
    r["id"] = "r-1";
    r["sender"] = "clinic:c-1";
    r["time"] = "2026-12-01T00:00:00Z";
    return r;
  };
  const std::vector<std::pair<json, std::string>> cases = {
      {with({{"event", "decision"}, {"decision", "deny"}, {"reason", "opted_out:all"}}), "denied"},
      {with({{"event", "delivery_failed"}, {"reason", "provider_rejected:sms"}}), "failed"},
      {with({{"event", "dead_letter"}, {"reason", "invalid_message:unknown_subscriber"}}), "dead"},
      {with({{"event", "cancelled"}, {"reason", "cancelled"}}), "cancelled"},
  };
  for (const auto& [record, state] : cases) {
    auto s = of({record}, nothing_queued());
    ASSERT_TRUE(s) << record;
    EXPECT_EQ(s->state, state) << record;
    EXPECT_EQ(s->reason, record["reason"]) << record;
  }
  // Records that are not decisions leave the state alone.
  EXPECT_FALSE(state_after({{"event", "consent"}}));
  EXPECT_FALSE(state_after({{"event", "delivery_status"}, {"id", "r-1"}}));
}

TEST(MessageStatus, NotYetDecidedIsReadFromTheQueue) {
  const auto due = std::to_string(to_epoch_ms(*parse_rfc3339("2026-12-02T01:00:00Z")));
  auto scheduled = of({}, queue(str(due), str("0"), nil(), true));
  ASSERT_TRUE(scheduled);
  EXPECT_EQ(scheduled->state, "scheduled");
  EXPECT_EQ(scheduled->until, "2026-12-02T01:00:00Z");
  // A provider's transient failure: back in the scheduled set with its attempts.
  auto retry = of({}, queue(str(due), str("2"), nil(), true));
  EXPECT_EQ(retry->state, "deferred");
  EXPECT_EQ(retry->attempts, 2);
  // The policy's deferral keeps its reason and its time.
  auto quiet = of({deferred}, queue(str(due), str("0"), nil(), true));
  EXPECT_EQ(quiet->state, "deferred");
  EXPECT_EQ(quiet->reason, "quiet_hours");
  EXPECT_EQ(quiet->until, "2026-12-01T08:00:00+09:00");
  // Due again, it is in the stream.
  EXPECT_EQ(of({deferred}, queue(nil(), nil(), nil(), true))->state, "queued");
  EXPECT_EQ(of({}, queue(nil(), nil(), nil(), true))->state, "queued");
  EXPECT_EQ(of({}, queue(nil(), nil(), str("c:1700-0"), true))->state, "queued")
      << "being delivered";
  auto marked = of({}, queue(nil(), nil(), str("cancelling"), true));
  EXPECT_EQ(marked->state, "cancelled");
  EXPECT_EQ(marked->reason, "cancelled");
}

TEST(MessageStatus, ADeadLetterSentAgainIsQueuedOnceTaken) {
  const json dead = {{"time", "2026-12-01T00:00:00Z"},
                     {"event", "dead_letter"},
                     {"id", "r-1"},
                     {"sender", "clinic:c-1"},
                     {"reason", "template_missing_variable:name"}};
  EXPECT_EQ(of({dead}, queue(nil(), nil(), nil(), true))->state, "dead");
  EXPECT_EQ(of({dead}, queue(nil(), nil(), str("c:1700-0"), true))->state, "queued");
}

TEST(MessageStatus, NoTraceIsNothing) {
  EXPECT_FALSE(of({}, nothing_queued()));
  EXPECT_FALSE(of({}, {}));  // the queue did not answer: only the record could say
}

}  // namespace
}  // namespace dispatcher
