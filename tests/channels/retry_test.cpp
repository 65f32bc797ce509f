#include "channels/retry.hpp"

#include <gtest/gtest.h>

#include <set>

namespace dispatcher::channels {
namespace {

using namespace std::chrono_literals;

TEST(RetryDelay, FullJitterWithinExponentialCeilingAndCapped) {
  std::mt19937_64 rng(1);
  RetryPolicy p;
  p.base = 1000ms;
  p.cap = 60'000ms;
  for (unsigned attempt = 1; attempt <= 20; ++attempt) {
    const auto ceiling = std::min<std::int64_t>(60'000, 1000LL << std::min(attempt - 1, 30u));
    for (int i = 0; i < 200; ++i) {
      const auto d = retry_delay(attempt, std::nullopt, rng, p);
      EXPECT_GE(d.count(), 0);
      EXPECT_LE(d.count(), ceiling);
    }
  }
  // The jitter spreads: attempt 6 (ceiling 32 s) gives many different values.
  std::set<std::int64_t> seen;
  for (int i = 0; i < 100; ++i) seen.insert(retry_delay(6, std::nullopt, rng, p).count());
  EXPECT_GT(seen.size(), 50u);
  // Huge attempt counts do not overflow.
  EXPECT_LE(retry_delay(1000, std::nullopt, rng, p), 60'000ms);
}

TEST(RetryDelay, NeverSoonerThanRetryAfter) {
  std::mt19937_64 rng(2);
  for (int i = 0; i < 100; ++i) EXPECT_GE(retry_delay(1, 30'000ms, rng), 30'000ms);
  RetryPolicy p;
  p.max_retry_after = 3'600'000ms;
  EXPECT_EQ(retry_delay(1, std::chrono::milliseconds(86'400'000 * 30LL), rng, p), 3'600'000ms);
}

}  // namespace
}  // namespace dispatcher::channels
