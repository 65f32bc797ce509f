// The consumer loop in this process: a Consumer on an io_context against a real redis-server,
// delivering to the outbox (build_providers with no channels configured). Every run is bounded
// (run_for) and must end by going idle.
#include "dispatcher/consumer.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>

#include "dispatcher/providers.hpp"
#include "dispatcher/runtime_env.hpp"
#include "dispatcher/scheduler.hpp"

namespace dispatcher {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using redis::cmd;
using redis::Reply;

// Noon in Tokyo, the consumer's clock (quiet hours and due times are read from it).
const TimePoint noon_tokyo = *parse_rfc3339("2026-11-25T12:00:00+09:00");

// A clinic's reminder to one of its non-member patients, by SMS.
json reminder(const std::string& id, int patient) {
  return {{"id", id},
          {"sender", "clinic:c-1"},
          {"purpose", "reservation"},
          {"to",
           {{"contact", {{"phone", fmt::format("+81901{:07d}", 2000000 + patient)}}},
            {"clinic", "c-1"},
            {"source", "patient_registry"}}},
          {"channels", {"sms"}},
          {"template", "reservation.reminder"},
          {"data",
           {{"name", "患者" + std::to_string(patient)},
            {"clinic_name", "さくら歯科"},
            {"starts_at", "2026-12-01T10:00:00+09:00"},
            {"clinic_phone", "03-1234-5678"}}}};
}

class ConsumerTest : public ::testing::Test {
 protected:
  const Runtime& rt() const { return env_.runtime(); }

  std::string enqueue(const std::string& payload) {
    Reply r = redis_.run(cmd("XADD", rt().keys.stream(), "*", "payload", payload));
    EXPECT_EQ(r.type, Reply::Type::string) << r.str;
    return r.str;
  }

  // Runs a consumer until it goes idle, at most `limit`; returns whether it went idle.
  bool run_until_idle(const std::string& name, std::chrono::seconds limit = 30s) {
    consumer_ = std::make_shared<Consumer>(
        io_, rt(), providers_, [] { return noon_tokyo; }, ConsumerOptions{true, name, 2, {}});
    const std::string err = consumer_->start();
    EXPECT_EQ(err, "");
    if (!err.empty()) return false;
    io_.run_for(limit);
    const bool idle = io_.stopped();
    io_.restart();
    return idle;
  }

  // The outbox's SMS lines, by message id.
  std::map<std::string, int> sms_by_id() {
    std::map<std::string, int> n;
    for (const auto& line : testing_support::read_lines(env_.outbox() / "sms.jsonl"))
      ++n[json::parse(line)["id"].get<std::string>()];
    return n;
  }
  long long pending() {
    Reply r = redis_.run(cmd("XPENDING", rt().keys.stream(), rt().config.consumer.group));
    return r.elements.empty() ? -1 : r.elements[0].integer;
  }
  std::map<std::string, std::string> stats_hash() {
    std::map<std::string, std::string> out;
    Reply r = redis_.run(cmd("HGETALL", rt().keys.stats()));
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
      out[r.elements[i].str] = r.elements[i + 1].str;
    return out;
  }
  std::size_t group_consumers() {
    return redis_.run(cmd("XINFO", "CONSUMERS", rt().keys.stream(), rt().config.consumer.group))
        .elements.size();
  }
  // Reads every waiting entry as `name`, which then "dies": the entries stay pending with it.
  std::vector<std::string> read_and_die(const std::string& name) {
    redis_.run(
        cmd("XGROUP", "CREATE", rt().keys.stream(), rt().config.consumer.group, "0", "MKSTREAM"));
    Reply r = redis_.run(cmd("XREADGROUP", "GROUP", rt().config.consumer.group, name, "COUNT",
                             "1000", "STREAMS", rt().keys.stream(), ">"));
    std::vector<std::string> ids;
    if (r.elements.empty()) return ids;
    for (const Reply& e : r.elements[0].elements[1].elements) ids.push_back(e.elements[0].str);
    return ids;
  }

  testing_support::RuntimeEnv env_{"  batch_size: 100\n"};
  redis::SyncClient redis_ = env_.redis();
  boost::asio::io_context io_;
  ProviderSet providers_ = build_providers(io_, env_.runtime());
  std::shared_ptr<Consumer> consumer_;
};

TEST_F(ConsumerTest, DeliversEveryMessageOnceAndAcknowledgesEveryEntry) {
  const int total = 250;
  for (int i = 0; i < total; ++i) enqueue(reminder("r-" + std::to_string(i), i).dump());
  enqueue(reminder("r-0", 0).dump());  // the producer sent one twice
  enqueue("{not json");

  ASSERT_TRUE(run_until_idle("consumer-1")) << "the consumer did not go idle within 30 s";
  EXPECT_EQ(consumer_->exit_code(), 0);

  auto sent = sms_by_id();
  EXPECT_EQ(sent.size(), static_cast<std::size_t>(total));
  for (const auto& [id, n] : sent) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(pending(), 0);
  EXPECT_EQ(redis_.run(cmd("XLEN", rt().keys.stream())).integer, 0);  // processed, removed

  // What this process counted, and the stats hash behind /metrics, agree.
  EXPECT_EQ(consumer_->stats().total("sent"), total);
  EXPECT_EQ(consumer_->stats().counts().at("sent").at("sms"), total);
  EXPECT_EQ(consumer_->stats().total("duplicate"), 1);
  EXPECT_EQ(consumer_->stats().total("dead_letter"), 1);
  EXPECT_GE(consumer_->batches(), 3);  // 252 entries, 100 a read
  auto stats = stats_hash();
  EXPECT_EQ(stats["sent\tsms"], std::to_string(total));
  EXPECT_EQ(stats["duplicate\t"], "1");
  EXPECT_EQ(stats["dead_letter\tinvalid_message:not_json"], "1");
  EXPECT_EQ(redis_.run(cmd("XLEN", rt().keys.dead())).integer, 1);

  EXPECT_EQ(group_consumers(), 0u);  // a graceful stop leaves the group
}

TEST_F(ConsumerTest, ClaimsWhatADeadConsumerLeftPendingAfterTheVisibilityTimeout) {
  for (int i = 0; i < 3; ++i) enqueue(reminder("orphan-" + std::to_string(i), i).dump());
  const auto died_at = std::chrono::steady_clock::now();
  ASSERT_EQ(read_and_die("dead-consumer").size(), 3u);
  ASSERT_EQ(pending(), 3);

  ASSERT_TRUE(run_until_idle("survivor")) << "the consumer did not go idle within 30 s";
  const auto took = std::chrono::steady_clock::now() - died_at;
  EXPECT_EQ(consumer_->exit_code(), 0);

  auto sent = sms_by_id();
  EXPECT_EQ(sent, (std::map<std::string, int>{{"orphan-0", 1}, {"orphan-1", 1}, {"orphan-2", 1}}));
  EXPECT_EQ(pending(), 0);
  EXPECT_EQ(consumer_->stats().total("sent"), 3);
  // Not before the visibility timeout: the dead consumer might only have been slow.
  EXPECT_GE(took, std::chrono::milliseconds(rt().config.consumer.visibility_timeout_ms));
  // The dead consumer, holding nothing and idle past the timeout, left the group with it.
  EXPECT_EQ(group_consumers(), 0u);
}

TEST_F(ConsumerTest, AClaimedEntryTheOutboxAlreadyTookIsNotSentAgain) {
  // A consumer read r-1, claimed its id, handed it to the outbox, and died before recording it.
  enqueue(reminder("r-1", 1).dump());
  const auto ids = read_and_die("dead-consumer");
  ASSERT_EQ(ids.size(), 1u);
  ASSERT_EQ(
      redis_.run(cmd("SET", rt().keys.done(message_key("clinic:c-1", "r-1")), "c:" + ids[0])).str,
      "OK");
  channels::Envelope e;
  e.message_id = "r-1";
  e.sender = "clinic:c-1";
  e.channel = Channel::sms;
  e.to = "+819012000001";
  e.sms_text = "sent before the crash";
  bool accepted = false;
  providers_[Channel::sms]->send(
      e, [&](channels::Outcome o) { accepted = o.kind == channels::OutcomeKind::accepted; });
  ASSERT_TRUE(accepted);
  enqueue(reminder("r-2", 2).dump());  // and something new, to show the consumer does send

  ASSERT_TRUE(run_until_idle("survivor")) << "the consumer did not go idle within 30 s";
  EXPECT_EQ(sms_by_id(), (std::map<std::string, int>{{"r-1", 1}, {"r-2", 1}}));
  EXPECT_EQ(pending(), 0);
  EXPECT_EQ(redis_.run(cmd("GET", rt().keys.done(message_key("clinic:c-1", "r-1")))).str,
            "send");  // now recorded
  EXPECT_EQ(consumer_->stats().total("sent"), 2);
}

TEST_F(ConsumerTest, MovesDueScheduledMessagesInAndLeavesTheOthersWaiting) {
  auto due = schedule_commands(rt().keys, message_key("clinic:c-1", "due-1"),
                               reminder("due-1", 1).dump(), noon_tokyo - 1s);
  auto later = schedule_commands(rt().keys, message_key("clinic:c-1", "later-1"),
                                 reminder("later-1", 2).dump(), noon_tokyo + 1h);
  for (auto* cmds : {&due, &later}) ASSERT_EQ(redis::first_error(*cmds, redis_.exec(*cmds)), "");

  ASSERT_TRUE(run_until_idle("consumer-1")) << "the consumer did not go idle within 30 s";
  EXPECT_EQ(sms_by_id(), (std::map<std::string, int>{{"due-1", 1}}));
  // Idle means nothing queued, in flight or due: the later one does not keep it running.
  Reply waiting = redis_.run(cmd("ZRANGE", rt().keys.scheduled(), "0", "-1"));
  ASSERT_EQ(waiting.elements.size(), 1u);
  EXPECT_EQ(waiting.elements[0].str, message_key("clinic:c-1", "later-1"));
}

TEST_F(ConsumerTest, StopsWhenAskedAndLeavesNothingPending) {
  for (int i = 0; i < 50; ++i) enqueue(reminder("r-" + std::to_string(i), i).dump());
  consumer_ = std::make_shared<Consumer>(
      io_, rt(), providers_, [] { return noon_tokyo; },
      ConsumerOptions{false, "consumer-1", 2, {}});
  ASSERT_EQ(consumer_->start(), "");
  // Not until_idle: it would read forever. Ask it to stop once it has sent something.
  for (int i = 0; i < 3000 && consumer_->stats().total("sent") == 0; ++i) io_.run_for(10ms);
  ASSERT_GT(consumer_->stats().total("sent"), 0) << "nothing was sent within 30 s";
  consumer_->stop();
  io_.run_for(30s);
  ASSERT_TRUE(io_.stopped()) << "the consumer did not drain within 30 s of stop()";
  EXPECT_EQ(consumer_->exit_code(), 0);
  EXPECT_EQ(pending(), 0);  // whatever it had read was finished before it let go
  const auto sent = sms_by_id();
  for (const auto& [id, n] : sent) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(
      static_cast<long long>(sent.size()) + redis_.run(cmd("XLEN", rt().keys.stream())).integer,
      50);  // sent, or still queued for the next consumer
}

}  // namespace
}  // namespace dispatcher
