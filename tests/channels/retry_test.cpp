#include "channels/retry.hpp"

#include <gtest/gtest.h>

#include <set>

#include "channels/failover.hpp"
#include "channels/http_util.hpp"
#include "channels/rate_limit.hpp"

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

TEST(RetryAfter, SecondsAndHttpDate) {
  const auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("120", now), 120'000ms);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now), 60'000ms);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), 0ms);
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
}

TEST(HttpUtil, LoopbackAndE164) {
  EXPECT_TRUE(is_loopback_host(url_host("http://127.0.0.1:8080/x")));
  EXPECT_TRUE(is_loopback_host(url_host("http://[::1]:8080/x")));
  EXPECT_TRUE(is_loopback_host(url_host("smtp://user@localhost:25")));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_FALSE(is_loopback_host(url_host("http://127.0.0.1.evil.example/x")));
  EXPECT_FALSE(is_loopback_host(url_host("http://api.twilio.com/")));
  EXPECT_TRUE(is_e164("+819012345678"));
  EXPECT_FALSE(is_e164("09012345678"));
  EXPECT_FALSE(is_e164("+0123"));
  EXPECT_FALSE(is_e164("+8190123456789012"));
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");
  EXPECT_EQ(form_encode({{"To", "+81 9"}, {"Body", "a&b=c"}}), "To=%2B81%209&Body=a%26b%3Dc");
}

TEST(HttpUtil, RedactMasksAddressesAndNumbers) {
  EXPECT_EQ(redact("550 5.1.1 <dead@example.jp>: Recipient address rejected"), "550 5.1.1 <address> Recipient address rejected");
  EXPECT_EQ(redact("The 'To' number +819012345678 is not a valid phone number."),
            "The 'To' number <number> is not a valid phone number.");
  EXPECT_EQ(redact("error 21211"), "error 21211");
  EXPECT_EQ(redact(std::string(500, 'x')).size(), 200u);
}

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
