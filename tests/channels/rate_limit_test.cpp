#include "channels/rate_limit.hpp"

#include <gtest/gtest.h>

#include "channels/sms/twilio.hpp"
#include "channels/support/sms.hpp"
#include "channels/support/standin.hpp"

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

// The limiter in front of a real provider (Twilio's, against its loopback stand-in).
namespace dispatcher::channels::sms {
namespace {

using namespace channels::testing;  // NOLINT
using namespace sms::testing;       // NOLINT
using nlohmann::json;
namespace asio = boost::asio;

TEST_F(SmsFixture, RateLimitHoldsSendsToBurstPlusRateTimesWindow) {
  HttpStandin server(dir, "twilio", &cert);
  FakeClock clock;
  RateSettings rate{.per_second = 10, .burst = 5, .queue = 30};
  RateLimited p(std::make_unique<TwilioProvider>("twilio-main", twilio(server), multi), rate, io,
                clock.fn());
  int accepted = 0, full = 0, done = 0, timed_refusals = 0, untimed_sends = 0;
  for (int i = 0; i < 40; ++i)
    p.send(sms("+8190000001" + std::to_string(10 + i)), [&](Outcome o) {
      ++done;
      if (o.kind == OutcomeKind::accepted) {
        ++accepted;
        if (o.latency.count() == 0) ++untimed_sends;  // Twilio's answer is timed, as Twilio's
        EXPECT_EQ(o.provider, "twilio-main");
      } else if (o.error == "rate limit queue full") {
        ++full;
        if (o.latency.count() != 0)
          ++timed_refusals;  // the limiter's refusal is no provider's latency
      }
    });
  // With the clock standing still only the burst goes out; 30 wait; 5 are refused (queue bound).
  ASSERT_TRUE(run_until(io, [&] { return accepted == 5 && full == 5; }));
  EXPECT_EQ(p.waiting(), 30u);
  EXPECT_EQ(timed_refusals, 0);
  EXPECT_EQ(untimed_sends, 0);
  // One simulated second in steps of 100 ms: one token each, so burst + rate × 1 s in all.
  for (int k = 1; k <= 10; ++k) {
    clock.advance(std::chrono::milliseconds(100));
    ASSERT_TRUE(run_until(io, [&] { return accepted == 5 + k; })) << k;
  }
  EXPECT_EQ(p.waiting(), 20u);
  EXPECT_EQ(static_cast<int>(server.requests().size()), 5 + 10 * 1);
  // A long pause refills no more than the burst.
  clock.advance(std::chrono::seconds(10));
  ASSERT_TRUE(run_until(io, [&] { return accepted == 20; }));
  run_until(
      io, [] { return false; },
      std::chrono::milliseconds(300));  // the timer keeps waking; nothing more may pass
  EXPECT_EQ(accepted, 20);
  for (int i = 0; i < 20 && done < 40; ++i) {
    clock.advance(std::chrono::seconds(1));
    run_until(io, [&] { return accepted == std::min(35, 20 + 5 * (i + 1)); });
  }
  EXPECT_EQ(done, 40);
  EXPECT_EQ(accepted, 35);
}

}  // namespace
}  // namespace dispatcher::channels::sms
