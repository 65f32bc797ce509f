// Messages that wait, against a real redis-server: scheduling, moving the due ones into the
// stream (and only those), and cancellation in each state a message can be in.
#include "dispatcher/scheduler.hpp"

#include <gtest/gtest.h>

#include <map>

#include "store/redis/sync_client.hpp"
#include "support/redis_server.hpp"

namespace dispatcher {
namespace {

using namespace std::chrono_literals;
using redis::cmd;
using redis::Reply;

TimePoint at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

struct Entry {
  std::string payload, attempts;
};

class Scheduler : public ::testing::Test {
 protected:
  void schedule(std::string_view id, TimePoint due, int attempts = 0) {
    auto cmds = schedule_commands(keys_, id, "payload of " + std::string(id), due, attempts);
    ASSERT_EQ(redis::first_error(cmds, redis_.exec(cmds)), "");
  }
  long long move_due(TimePoint now, int limit = 1000) {
    Reply r = redis_.run(move_due_command(keys_, now, limit));
    EXPECT_EQ(r.type, Reply::Type::integer) << r.str;
    return r.integer;
  }
  std::vector<Entry> stream() {
    std::vector<Entry> out;
    Reply r = redis_.run(cmd("XRANGE", keys_.stream(), "-", "+"));
    for (const Reply& e : r.elements) {
      std::map<std::string, std::string> f;
      const auto& fields = e.elements[1].elements;
      for (std::size_t i = 0; i + 1 < fields.size(); i += 2) f[fields[i].str] = fields[i + 1].str;
      out.push_back({f["payload"], f["attempts"]});
    }
    return out;
  }
  std::vector<std::string> waiting() {
    std::vector<std::string> ids;
    for (const Reply& r : redis_.run(cmd("ZRANGE", keys_.scheduled(), "0", "-1")).elements)
      ids.push_back(r.str);
    return ids;
  }
  bool exists(const std::string& key) { return redis_.run(cmd("EXISTS", key)).integer == 1; }

  testing_support::TempDir tmp_;
  testing_support::RedisServer server_{tmp_.path()};
  redis::SyncClient redis_ = server_.client();
  Keys keys_;
  const TimePoint now_ = at("2026-11-30T01:00:00Z");
};

TEST_F(Scheduler, ScheduleKeepsThePayloadBesideItsDueTime) {
  schedule("rsv-1", now_ + 1h, 2);
  EXPECT_EQ(redis_.run(cmd("ZSCORE", keys_.scheduled(), "rsv-1")).str,
            std::to_string(to_epoch_ms(now_ + 1h)));
  EXPECT_EQ(redis_.run(cmd("HGET", keys_.sched("rsv-1"), "payload")).str, "payload of rsv-1");
  EXPECT_EQ(redis_.run(cmd("HGET", keys_.sched("rsv-1"), "attempts")).str, "2");
}

TEST_F(Scheduler, MovesOnlyTheDueEntries) {
  schedule("past", now_ - 1s);
  schedule("now", now_, 3);
  schedule("later", now_ + 1ms);
  EXPECT_EQ(move_due(now_), 2);

  auto s = stream();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].payload, "payload of past");  // earliest first
  EXPECT_EQ(s[0].attempts, "0");
  EXPECT_EQ(s[1].payload, "payload of now");
  EXPECT_EQ(s[1].attempts, "3");  // a retry keeps its count
  EXPECT_EQ(waiting(), std::vector<std::string>{"later"});
  EXPECT_FALSE(exists(keys_.sched("past")));
  EXPECT_FALSE(exists(keys_.sched("now")));
  EXPECT_TRUE(exists(keys_.sched("later")));

  EXPECT_EQ(move_due(now_), 0);  // nothing is moved twice
  EXPECT_EQ(stream().size(), 2u);
  EXPECT_EQ(move_due(now_ + 1ms), 1);
  EXPECT_TRUE(waiting().empty());
}

TEST_F(Scheduler, MovesAtMostTheLimitPerCall) {
  for (int i = 0; i < 5; ++i)
    schedule("m-" + std::to_string(i), now_ - std::chrono::minutes(5 - i));
  EXPECT_EQ(move_due(now_, 2), 2);
  EXPECT_EQ(move_due(now_, 2), 2);
  EXPECT_EQ(move_due(now_, 2), 1);
  EXPECT_EQ(move_due(now_, 2), 0);
  auto s = stream();
  ASSERT_EQ(s.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s[i].payload, "payload of m-" + std::to_string(i));
}

TEST_F(Scheduler, ADueIdWithoutPayloadLeavesTheSetWithoutEnteringTheStream) {
  ASSERT_EQ(redis_.run(cmd("ZADD", keys_.scheduled(), "1", "orphan")).integer, 1);
  EXPECT_EQ(move_due(now_), 1);
  EXPECT_TRUE(stream().empty());
  EXPECT_TRUE(waiting().empty());
}

TEST_F(Scheduler, UsesTheKeysPrefixThroughout) {
  keys_.prefix = "other:";
  schedule("rsv-1", now_ - 1s);
  EXPECT_EQ(move_due(now_), 1);
  ASSERT_EQ(stream().size(), 1u);
  EXPECT_EQ(stream()[0].payload, "payload of rsv-1");
  EXPECT_EQ(redis_.run(cmd("EXISTS", "dsp:stream", "dsp:scheduled", "dsp:sched:rsv-1")).integer, 0);
}

// cancel_command's reply: [status, payload].
std::pair<std::string, std::string> status_of(const Reply& r) {
  EXPECT_EQ(r.elements.size(), 2u) << r.str;
  if (r.elements.size() != 2) return {};
  return {r.elements[0].str, r.elements[1].str};
}

TEST_F(Scheduler, CancellingAScheduledMessageRemovesItAndRemembersTheCancel) {
  schedule("rsv-1", now_ + 1h);
  auto [status, payload] = status_of(redis_.run(cancel_command(keys_, "rsv-1", 60'000)));
  EXPECT_EQ(status, "cancelled");
  EXPECT_EQ(payload, "payload of rsv-1");
  EXPECT_TRUE(waiting().empty());
  EXPECT_FALSE(exists(keys_.sched("rsv-1")));
  EXPECT_EQ(redis_.run(cmd("GET", keys_.done("rsv-1"))).str, "cancelled");
  const long long ttl = redis_.run(cmd("PTTL", keys_.done("rsv-1"))).integer;
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 60'000);
  EXPECT_EQ(move_due(now_ + 2h), 0);  // it never reaches the stream
}

TEST_F(Scheduler, CancellingAQueuedMessageMarksItSoItIsNotDelivered) {
  auto [status, payload] = status_of(redis_.run(cancel_command(keys_, "queued-1", 60'000)));
  EXPECT_EQ(status, "marked");
  EXPECT_EQ(payload, "");
  EXPECT_EQ(redis_.run(cmd("GET", keys_.done("queued-1"))).str, "cancelling");
  // Cancelling again is still a mark, not an error.
  EXPECT_EQ(status_of(redis_.run(cancel_command(keys_, "queued-1", 60'000))).first, "marked");
}

TEST_F(Scheduler, ADecidedMessageIsAlreadyDoneAndStaysAsItWas) {
  ASSERT_EQ(redis_.run(cmd("SET", keys_.done("sent-1"), "send")).str, "OK");
  auto [status, payload] = status_of(redis_.run(cancel_command(keys_, "sent-1", 60'000)));
  EXPECT_EQ(status, "already");
  EXPECT_EQ(payload, "send");
  EXPECT_EQ(redis_.run(cmd("GET", keys_.done("sent-1"))).str, "send");
  EXPECT_EQ(redis_.run(cmd("PTTL", keys_.done("sent-1"))).integer, -1);  // untouched
}

TEST_F(Scheduler, AMessageBeingDeliveredIsInFlightAndItsClaimStays) {
  // A consumer holds the id's idempotency record ("c:<entry id>") while it delivers.
  ASSERT_EQ(redis_.run(cmd("SET", keys_.done("busy-1"), "c:1700000000000-0")).str, "OK");
  schedule("busy-1", now_ + 1h);  // e.g. a retry was already scheduled
  auto [status, payload] = status_of(redis_.run(cancel_command(keys_, "busy-1", 60'000)));
  EXPECT_EQ(status, "in_flight");
  EXPECT_EQ(payload, "payload of busy-1");
  EXPECT_EQ(redis_.run(cmd("GET", keys_.done("busy-1"))).str, "c:1700000000000-0");
  EXPECT_TRUE(waiting().empty());  // the scheduled copy is gone all the same
}

}  // namespace
}  // namespace dispatcher
