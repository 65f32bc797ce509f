#include "channels/failover.hpp"

#include <gtest/gtest.h>

#include "channels/sms/http_sms.hpp"
#include "channels/sms/twilio.hpp"
#include "channels/support/sms.hpp"
#include "channels/support/standin.hpp"

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

// Failover between real providers (Twilio's and the generic JSON one, on loopback stand-ins).
namespace dispatcher::channels::sms {
namespace {

using namespace channels::testing;  // NOLINT
using namespace sms::testing;       // NOLINT
using nlohmann::json;
namespace asio = boost::asio;

TEST_F(SmsFixture, FailoverToSecondProviderAndBackAfterCoolDown) {
  HttpStandin first(dir, "twilio", &cert);
  HttpStandin second(dir, "http_sms", &cert);
  control(first,
          {{"*",
            {{"status", 503},
             {"body", {{"code", 20503}, {"message", "Service Unavailable"}, {"status", 503}}}}}});
  FakeClock clock;
  std::vector<std::unique_ptr<Provider>> ps;
  ps.push_back(std::make_unique<TwilioProvider>("twilio-main", twilio(first), multi));
  ps.push_back(std::make_unique<HttpSmsProvider>("generic-sms", generic(second), multi));
  Failover f("sms", std::move(ps),
             BreakerSettings{.failures_to_open = 3, .cool_down = std::chrono::seconds(30)}, io,
             clock.fn());
  for (int i = 0; i < 6; ++i) {
    const Outcome o = send_sync(io, f, sms("+81900000020" + std::to_string(i)));
    EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
    EXPECT_EQ(o.provider, "generic-sms");
  }
  EXPECT_EQ(first.requests().size(), 3u) << "the circuit opened after 3 failures";
  EXPECT_EQ(f.breaker(0).state(clock.t), CircuitBreaker::State::open);
  // The first provider recovers; after the cool-down one trial goes to it and closes the circuit.
  control(first, {{"*", nullptr}});
  clock.advance(std::chrono::seconds(10));
  EXPECT_EQ(send_sync(io, f, sms("+819000000300")).provider, "generic-sms");
  clock.advance(std::chrono::seconds(21));
  EXPECT_EQ(f.breaker(0).state(clock.t), CircuitBreaker::State::half_open);
  const Outcome back = send_sync(io, f, sms("+819000000301"));
  EXPECT_EQ(back.provider, "twilio-main") << back.error;
  EXPECT_EQ(f.breaker(0).state(clock.t), CircuitBreaker::State::closed);
  EXPECT_EQ(send_sync(io, f, sms("+819000000302")).provider, "twilio-main");
  EXPECT_EQ(first.requests().size(), 5u);
}

TEST_F(SmsFixture, PermanentAnswerDoesNotFailOver) {
  json script;
  script["+819000021610"] =
      json::array({twilio_error(21610, 400, "Attempt to send to unsubscribed recipient")});
  HttpStandin first(dir, "twilio", &cert, script);
  HttpStandin second(dir, "http_sms", &cert);
  std::vector<std::unique_ptr<Provider>> ps;
  ps.push_back(std::make_unique<TwilioProvider>("twilio-main", twilio(first), multi));
  ps.push_back(std::make_unique<HttpSmsProvider>("generic-sms", generic(second), multi));
  Failover f("sms", std::move(ps), {}, io);
  const Outcome o = send_sync(io, f, sms("+819000021610"));
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_TRUE(o.suppress_address);
  EXPECT_TRUE(second.requests().empty())
      << "an opt-out at one provider must not be bypassed through another";
}

}  // namespace
}  // namespace dispatcher::channels::sms
