// Rate limits per provider: a pure token bucket, and `RateLimited`, a Provider that holds sends
// in a bounded queue until the bucket has a token, woken by an Asio timer (no busy loop).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>

#include "channels/provider.hpp"
#include "config/clock.hpp"

namespace dispatcher::channels {

struct RateSettings {
  double per_second = 0;       // 0: no limit
  double burst = 1;            // bucket size
  std::size_t queue = 10'000;  // sends waiting for a token; beyond: transient
};

class TokenBucket {
 public:
  TokenBucket(double per_second, double burst, TimePoint now);
  bool try_take(TimePoint now);
  // How long until one token is there (0 if now).
  std::chrono::milliseconds wait_time(TimePoint now);

 private:
  void refill(TimePoint now);
  double rate_, burst_, tokens_;
  TimePoint last_;
};

class RateLimited final : public Provider {
 public:
  RateLimited(std::unique_ptr<Provider> inner, RateSettings settings, boost::asio::io_context& io,
              NowFn now);
  bool already_accepted(std::string_view sender, std::string_view id) override {
    return inner_->already_accepted(sender, id);
  }
  std::vector<ConnectTarget> connect_targets() const override { return inner_->connect_targets(); }
  bool answers_itself() const override { return false; }
  std::size_t waiting() const noexcept { return waiting_.size(); }
  Provider& inner() noexcept { return *inner_; }

 protected:
  void do_send(const Envelope& e, Completion done) override;

 private:
  struct Waiting {
    Envelope envelope;
    Completion done;
  };
  void arm();
  void on_timer();

  std::unique_ptr<Provider> inner_;
  RateSettings settings_;
  boost::asio::io_context& io_;
  NowFn now_;
  TokenBucket bucket_;
  std::deque<Waiting> waiting_;
  boost::asio::steady_timer timer_;
  bool armed_ = false;
};

}  // namespace dispatcher::channels
