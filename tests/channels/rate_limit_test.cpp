#include "channels/rate_limit.hpp"

#include <gtest/gtest.h>

namespace dispatcher::channels {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucket, NeverMoreThanBurstPlusRateTimesWindow) {
  TimePoint t = from_epoch_ms(0);
  TokenBucket b(50, 20, t);
  int taken = 0;
  // 10 simulated seconds, offered 1000 sends per second in 1 ms steps.
  for (int ms = 0; ms < 10'000; ++ms) {
    t = from_epoch_ms(ms);
    if (b.try_take(t)) ++taken;
  }
  EXPECT_LE(taken, 20 + 50 * 10);
  EXPECT_GE(taken, 50 * 10);
  EXPECT_GT(b.wait_time(t), 0ms);
  EXPECT_LE(b.wait_time(t), 20ms);
}

}  // namespace
}  // namespace dispatcher::channels
