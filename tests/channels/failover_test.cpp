#include "channels/failover.hpp"

#include <gtest/gtest.h>

namespace dispatcher::channels {
namespace {

using namespace std::chrono_literals;

TEST(CircuitBreaker, OpensHalfOpensAndCloses) {
  CircuitBreaker b({.failures_to_open = 3, .cool_down = 10s});
  TimePoint t = from_epoch_ms(1000);
  EXPECT_TRUE(b.allow(t));
  b.on_failure(t);
  b.on_failure(t);
  b.on_success();  // a success resets the count
  b.on_failure(t);
  b.on_failure(t);
  EXPECT_EQ(b.state(t), CircuitBreaker::State::closed);
  b.on_failure(t);
  EXPECT_EQ(b.state(t), CircuitBreaker::State::open);
  EXPECT_FALSE(b.allow(t + 9s));
  EXPECT_TRUE(b.allow(t + 10s));   // the trial
  EXPECT_FALSE(b.allow(t + 10s));  // one at a time
  b.on_failure(t + 11s);           // trial failed: open again, for a new cool-down
  EXPECT_FALSE(b.allow(t + 20s));
  EXPECT_TRUE(b.allow(t + 21s));
  b.on_success();
  EXPECT_EQ(b.state(t + 21s), CircuitBreaker::State::closed);
  EXPECT_TRUE(b.allow(t + 21s));
}

}  // namespace
}  // namespace dispatcher::channels
