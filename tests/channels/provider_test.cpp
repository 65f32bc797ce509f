#include "channels/provider.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <string>
#include <vector>

#include "channels/support/standin.hpp"

namespace dispatcher::channels {
namespace {

using namespace std::chrono_literals;
using testing::run_until;
namespace asio = boost::asio;

// A provider of our own that records what it was asked and answers when the test says so,
// from the loop (as the real providers do), or inline when `inline_outcome` is set.
class RecordingProvider final : public Provider {
 public:
  RecordingProvider(std::string name, asio::io_context& io, bool answers_itself = true)
      : Provider(std::move(name)), io_(io), answers_itself_(answers_itself) {}

  bool answers_itself() const override { return answers_itself_; }

  std::vector<Envelope> asked;
  std::vector<Completion> pending;
  std::optional<Outcome> inline_outcome;

  // Answers the i-th send from the loop.
  void answer(std::size_t i, Outcome o) {
    asio::post(
        io_, [done = std::move(pending.at(i)), o = std::move(o)]() mutable { done(std::move(o)); });
  }
  std::weak_ptr<void> token() const { return alive_token(); }

 protected:
  void do_send(const Envelope& e, Completion done) override {
    asked.push_back(e);
    if (inline_outcome) return done(*inline_outcome);
    pending.push_back(std::move(done));
  }

 private:
  asio::io_context& io_;
  bool answers_itself_;
};

Envelope envelope(std::string id) {
  Envelope e;
  e.message_id = std::move(id);
  e.channel = Channel::sms;
  e.to = "+819012345678";
  e.sms_text = "明日10:00のご予約をお待ちしております";
  return e;
}

Outcome accepted(std::string provider_message_id) {
  Outcome o;
  o.provider_message_id = std::move(provider_message_id);
  return o;
}

// Runs the loop for a while longer: nothing more may arrive.
void settle(asio::io_context& io) {
  run_until(
      io, [] { return false; }, 100ms);
}

TEST(Provider, DoneIsCalledExactlyOnceWithTheHooksOutcome) {
  asio::io_context io;
  RecordingProvider p("recording", io);
  int calls = 0;
  Outcome got;
  p.send(envelope("m-1"), [&](Outcome o) {
    ++calls;
    got = std::move(o);
  });
  EXPECT_EQ(calls, 0) << "nothing answered yet";
  ASSERT_EQ(p.pending.size(), 1u);
  p.answer(0, accepted("prov-1"));
  ASSERT_TRUE(run_until(io, [&] { return calls > 0; }));
  settle(io);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got.kind, OutcomeKind::accepted);
  EXPECT_EQ(got.provider_message_id, "prov-1");
}

TEST(Provider, InlineAnswersAreCountedOnceToo) {
  asio::io_context io;
  RecordingProvider p("recording", io);
  p.inline_outcome = accepted("prov-inline");
  int calls = 0;
  p.send(envelope("m-1"), [&](Outcome o) {
    ++calls;
    EXPECT_EQ(o.provider_message_id, "prov-inline");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(p.in_flight(), 0u);
  settle(io);
  EXPECT_EQ(calls, 1);
}

TEST(Provider, InFlightCountsEverySendUntilItsAnswerInAnyOrder) {
  asio::io_context io;
  RecordingProvider p("recording", io);
  std::vector<std::string> answered;  // "message id → provider id" as each done saw it
  EXPECT_EQ(p.in_flight(), 0u);
  for (const char* id : {"m-0", "m-1", "m-2"})
    p.send(envelope(id), [&answered, id = std::string(id)](Outcome o) {
      answered.push_back(id + "→" + o.provider_message_id);
    });
  EXPECT_EQ(p.in_flight(), 3u);
  ASSERT_EQ(p.asked.size(), 3u);
  const std::size_t order[] = {2, 0, 1};
  for (std::size_t k = 0; k < 3; ++k) {
    const std::size_t i = order[k];
    p.answer(i, accepted("prov-" + std::to_string(i)));
    ASSERT_TRUE(run_until(io, [&] { return answered.size() == k + 1; })) << k;
    EXPECT_EQ(p.in_flight(), 2u - k);
  }
  EXPECT_EQ(answered, (std::vector<std::string>{"m-2→prov-2", "m-0→prov-0", "m-1→prov-1"}))
      << "each send's done gets its own outcome";
}

TEST(Provider, ASendIsNoLongerInFlightWhenItsDoneRuns) {
  // Drain on shutdown waits for in_flight() == 0; a done that sends again is counted anew.
  asio::io_context io;
  RecordingProvider p("recording", io);
  std::optional<std::size_t> seen_in_done, seen_after_resend;
  p.send(envelope("m-1"), [&](Outcome) {
    seen_in_done = p.in_flight();
    p.send(envelope("m-2"), [](Outcome) {});
    seen_after_resend = p.in_flight();
  });
  p.answer(0, accepted("prov-1"));
  ASSERT_TRUE(run_until(io, [&] { return seen_in_done.has_value(); }));
  EXPECT_EQ(*seen_in_done, 0u);
  EXPECT_EQ(*seen_after_resend, 1u);
  EXPECT_EQ(p.in_flight(), 1u);
  ASSERT_EQ(p.asked.size(), 2u);
  EXPECT_EQ(p.asked[1].message_id, "m-2");
}

TEST(Provider, TheHookIsAskedWithTheEnvelopeAsGiven) {
  asio::io_context io;
  RecordingProvider p("recording", io);
  Envelope e = envelope("m-42");
  e.purpose = "reservation.reminder";
  e.campaign = "remind-24h";
  e.marketing = true;
  e.push_data = {{"rid", "r_1"}};
  p.send(e, [](Outcome) {});
  ASSERT_EQ(p.asked.size(), 1u);
  const Envelope& got = p.asked[0];
  EXPECT_EQ(got.message_id, "m-42");
  EXPECT_EQ(got.channel, Channel::sms);
  EXPECT_EQ(got.to, e.to);
  EXPECT_EQ(got.sms_text, e.sms_text);
  EXPECT_EQ(got.purpose, "reservation.reminder");
  EXPECT_EQ(got.campaign, "remind-24h");
  EXPECT_TRUE(got.marketing);
  EXPECT_EQ(got.push_data, e.push_data);
}

TEST(Provider, ItsNameIsFilledInOnlyWhenTheHookLeftItEmpty) {
  asio::io_context io;
  RecordingProvider p("twilio-main", io, /*answers_itself=*/false);
  std::vector<std::string> providers;
  p.send(envelope("m-1"), [&](Outcome o) { providers.push_back(o.provider); });
  p.send(envelope("m-2"), [&](Outcome o) { providers.push_back(o.provider); });
  Outcome from_inner = accepted("x");
  from_inner.provider = "generic-sms";  // a wrapper passes on the answer of the one it chose
  p.answer(0, accepted("x"));
  p.answer(1, from_inner);
  ASSERT_TRUE(run_until(io, [&] { return providers.size() == 2; }));
  EXPECT_EQ(providers, (std::vector<std::string>{"twilio-main", "generic-sms"}));
  EXPECT_EQ(p.name(), "twilio-main");
}

TEST(Provider, LatencyIsTheTimeUntilTheAnswerWhenItAnswersItself) {
  asio::io_context io;
  RecordingProvider p("recording", io);
  std::optional<Outcome> got;
  const auto before = std::chrono::steady_clock::now();
  p.send(envelope("m-1"), [&](Outcome o) { got = std::move(o); });
  // The answer comes when a 30 ms timer has fired, so at least 30 ms have passed.
  asio::steady_timer timer(io, 30ms);
  timer.async_wait([&](boost::system::error_code) { p.answer(0, accepted("prov-1")); });
  ASSERT_TRUE(run_until(io, [&] { return got.has_value(); }));
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - before);
  EXPECT_GE(got->latency, 30ms);
  EXPECT_LE(got->latency, elapsed);
}

TEST(Provider, LatencyIsNeverZeroForAProviderThatAnswersItself) {
  // Zero means "not timed" (a wrapper's own refusal); an instant answer is still one.
  asio::io_context io;
  RecordingProvider p("recording", io);
  Outcome refused;
  refused.kind = OutcomeKind::permanent;
  refused.error = "not an E.164 number";
  p.inline_outcome = refused;
  std::optional<Outcome> got;
  p.send(envelope("m-1"), [&](Outcome o) { got = std::move(o); });
  ASSERT_TRUE(got);
  EXPECT_GE(got->latency, 1us);
}

TEST(Provider, ALatencySetByTheHookIsReplacedByTheMeasuredOne) {
  asio::io_context io;
  RecordingProvider p("recording", io);
  Outcome o = accepted("prov-1");
  o.latency = 10min;  // a provider cannot claim its own latency
  p.inline_outcome = o;
  std::optional<Outcome> got;
  p.send(envelope("m-1"), [&](Outcome r) { got = std::move(r); });
  ASSERT_TRUE(got);
  EXPECT_GE(got->latency, 1us);
  EXPECT_LT(got->latency, 1min);
}

TEST(Provider, AWrapperDoesNotStampLatency) {
  asio::io_context io;
  RecordingProvider wrapper("sms", io, /*answers_itself=*/false);
  std::vector<Outcome> got;
  wrapper.send(envelope("m-1"), [&](Outcome o) { got.push_back(std::move(o)); });
  wrapper.send(envelope("m-2"), [&](Outcome o) { got.push_back(std::move(o)); });
  Outcome refusal;
  refusal.kind = OutcomeKind::transient;
  refusal.error = "rate limit queue full";
  Outcome inner = accepted("prov-2");
  inner.provider = "twilio-main";
  inner.latency = 1234us;  // what the inner provider's send measured
  asio::steady_timer timer(io, 20ms);
  timer.async_wait([&](boost::system::error_code) {
    wrapper.answer(0, refusal);
    wrapper.answer(1, inner);
  });
  ASSERT_TRUE(run_until(io, [&] { return got.size() == 2; }));
  EXPECT_EQ(got[0].latency, 0us) << "a wrapper's refusal is no provider's latency";
  EXPECT_EQ(got[1].latency, 1234us) << "the inner provider's measure is kept";
}

TEST(Provider, EveryOtherFieldOfTheOutcomePassesThrough) {
  asio::io_context io;
  RecordingProvider p("recording", io);
  Outcome o;
  o.kind = OutcomeKind::transient;
  o.error = "rate limited (HTTP 429)";
  o.retry_after = 2500ms;
  o.suppress_address = true;
  o.status_expected = true;
  o.provider_message_id = "SM123";
  p.inline_outcome = o;
  std::optional<Outcome> got;
  p.send(envelope("m-1"), [&](Outcome r) { got = std::move(r); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, OutcomeKind::transient);
  EXPECT_EQ(got->error, "rate limited (HTTP 429)");
  EXPECT_EQ(got->retry_after, 2500ms);
  EXPECT_TRUE(got->suppress_address);
  EXPECT_TRUE(got->status_expected);
  EXPECT_EQ(got->provider_message_id, "SM123");
  EXPECT_EQ(got->provider, "recording");
}

TEST(Provider, AnAnswerAfterTheProviderIsGoneIsDropped) {
  asio::io_context io;
  auto p = std::make_unique<RecordingProvider>("recording", io);
  int calls = 0;
  p->send(envelope("m-1"), [&](Outcome) { ++calls; });
  const std::weak_ptr<void> token = p->token();
  EXPECT_FALSE(token.expired());
  Completion late = std::move(p->pending.at(0));
  p.reset();  // shutdown: the loop stopped with the send still out
  EXPECT_TRUE(token.expired());
  late(accepted("prov-1"));  // e.g. a transfer's callback that still ran
  EXPECT_EQ(calls, 0) << "nobody is left to answer; the pipeline redelivers the message";
}

TEST(Provider, Defaults) {
  asio::io_context io;
  RecordingProvider p("recording", io);
  EXPECT_FALSE(p.already_accepted("", "m-1")) << "only the outbox can know";
  EXPECT_TRUE(p.connect_targets().empty());
  EXPECT_TRUE(p.answers_itself());
  EXPECT_EQ(p.in_flight(), 0u);
}

TEST(OutcomeKind, Names) {
  EXPECT_EQ(to_string(OutcomeKind::accepted), "accepted");
  EXPECT_EQ(to_string(OutcomeKind::transient), "transient");
  EXPECT_EQ(to_string(OutcomeKind::permanent), "permanent");
}

}  // namespace
}  // namespace dispatcher::channels
