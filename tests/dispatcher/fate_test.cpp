// The pure half of the consumer: what a provider's answer makes of a delivery.
#include "dispatcher/fate.hpp"

#include <gtest/gtest.h>

#include <set>

namespace dispatcher {
namespace {

using namespace std::chrono_literals;

channels::Outcome answer(channels::OutcomeKind kind) {
  channels::Outcome o;
  o.kind = kind;
  o.provider = "twilio";
  return o;
}

channels::RetryPolicy policy() {
  channels::RetryPolicy p;
  p.base = 1000ms;
  p.cap = 60'000ms;
  p.max_retry_after = 600'000ms;
  p.max_attempts = 5;
  return p;
}

TEST(Fate, AcceptedIsSent) {
  std::mt19937_64 rng(1);
  const Delivery d = fate_of(answer(channels::OutcomeKind::accepted), 0, policy(), rng);
  EXPECT_EQ(d.fate, Fate::sent);
  EXPECT_FALSE(d.suppress);
}

TEST(Fate, PermanentFailsAndSuppressesOnlyADeadAddress) {
  std::mt19937_64 rng(1);
  auto o = answer(channels::OutcomeKind::permanent);
  EXPECT_EQ(fate_of(o, 0, policy(), rng).fate, Fate::failed);
  EXPECT_FALSE(fate_of(o, 0, policy(), rng).suppress);
  o.suppress_address = true;
  EXPECT_TRUE(fate_of(o, 0, policy(), rng).suppress);
  // An accepted answer never suppresses, whatever the flag says.
  auto ok = answer(channels::OutcomeKind::accepted);
  ok.suppress_address = true;
  EXPECT_FALSE(fate_of(ok, 0, policy(), rng).suppress);
}

TEST(Fate, TransientRetriesWithFullJitterUnderTheExponentialCeiling) {
  std::mt19937_64 rng(7);
  const auto o = answer(channels::OutcomeKind::transient);
  // attempts before this one: 0 → this is attempt 1, ceiling base; 2 → attempt 3, ceiling 4 s.
  for (int attempts = 0; attempts < 4; ++attempts) {
    const auto ceiling = std::chrono::milliseconds(1000LL << attempts);
    std::set<std::int64_t> seen;
    for (int i = 0; i < 200; ++i) {
      const Delivery d = fate_of(o, attempts, policy(), rng);
      ASSERT_EQ(d.fate, Fate::retry);
      EXPECT_GE(d.retry_delay, 0ms);
      EXPECT_LE(d.retry_delay, ceiling);
      seen.insert(d.retry_delay.count());
    }
    EXPECT_GT(seen.size(), 100u) << "full jitter spreads the retries";
  }
}

TEST(Fate, TheCapBoundsEveryBackoff) {
  std::mt19937_64 rng(3);
  auto p = policy();
  p.max_attempts = 100;
  const auto o = answer(channels::OutcomeKind::transient);
  for (int attempts = 10; attempts < 90; attempts += 7)
    EXPECT_LE(fate_of(o, attempts, p, rng).retry_delay, p.cap);
}

TEST(Fate, RetryAfterIsHonouredButCapped) {
  std::mt19937_64 rng(5);
  auto o = answer(channels::OutcomeKind::transient);
  o.retry_after = 120'000ms;  // longer than any backoff ceiling of attempt 1
  for (int i = 0; i < 50; ++i) EXPECT_EQ(fate_of(o, 0, policy(), rng).retry_delay, 120'000ms);
  o.retry_after = std::chrono::milliseconds(86'400'000LL * 7);  // a week: capped
  EXPECT_EQ(fate_of(o, 0, policy(), rng).retry_delay, 600'000ms);
}

TEST(Fate, TheLastAttemptDeadLettersWithTheProvidersError) {
  std::mt19937_64 rng(1);
  auto o = answer(channels::OutcomeKind::transient);
  o.error = "HTTP 503 from the provider";
  EXPECT_EQ(fate_of(o, 3, policy(), rng).fate, Fate::retry);  // the 4th of 5
  const Delivery d = fate_of(o, 4, policy(), rng);            // the 5th of 5
  EXPECT_EQ(d.fate, Fate::dead);
  EXPECT_EQ(d.reason, "attempts_exhausted");
  EXPECT_EQ(d.detail, "HTTP 503 from the provider");
}

TEST(Fate, TheSameGeneratorGivesTheSameDelays) {
  std::mt19937_64 a(42), b(42);
  const auto o = answer(channels::OutcomeKind::transient);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(fate_of(o, 2, policy(), a).retry_delay, fate_of(o, 2, policy(), b).retry_delay);
}

}  // namespace
}  // namespace dispatcher
