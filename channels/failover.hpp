// Several providers for one channel in priority order, behind one Provider. Each has a circuit
// breaker: it opens after N consecutive transient failures (sends skip that provider), goes
// half-open after a cool-down (one trial send), and closes on a success. A transient failure
// moves the send on to the next provider; a permanent one is the answer (it is about the
// address or the message, and another provider must not bypass an opt-out such as 21610).
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "channels/provider.hpp"
#include "config/clock.hpp"

namespace boost::asio {
class io_context;
}

namespace dispatcher::channels {

struct BreakerSettings {
  unsigned failures_to_open = 5;
  std::chrono::milliseconds cool_down{30'000};
};

class CircuitBreaker {
 public:
  enum class State { closed, open, half_open };
  explicit CircuitBreaker(BreakerSettings s = {}) : s_(s) {}

  // Whether a send may go to this provider now (in half-open: one trial at a time).
  bool allow(TimePoint now);
  void on_success();
  void on_failure(TimePoint now);
  State state(TimePoint now) const;
  // When an open breaker lets a trial through.
  TimePoint reopens_at() const { return opened_at_ + s_.cool_down; }

 private:
  BreakerSettings s_;
  State state_ = State::closed;
  unsigned failures_ = 0;
  TimePoint opened_at_{};
  bool trial_in_flight_ = false;
};

class Failover final : public Provider {
 public:
  Failover(std::string name, std::vector<std::unique_ptr<Provider>> providers,
           BreakerSettings breaker, boost::asio::io_context& io, NowFn now = {});
  bool already_accepted(std::string_view sender, std::string_view id) override;
  std::vector<ConnectTarget> connect_targets() const override;
  bool answers_itself() const override { return false; }
  const CircuitBreaker& breaker(std::size_t i) const { return breakers_.at(i); }
  std::size_t size() const noexcept { return providers_.size(); }

 protected:
  void do_send(const Envelope& e, Completion done) override;

 private:
  struct Attempt;
  void try_from(std::shared_ptr<Attempt> a, std::size_t i);

  std::vector<std::unique_ptr<Provider>> providers_;
  std::vector<CircuitBreaker> breakers_;
  boost::asio::io_context& io_;
  NowFn now_;
};

}  // namespace dispatcher::channels
