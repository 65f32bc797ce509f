#include "channels/rate_limit.hpp"

#include <algorithm>
#include <cmath>

#include "channels/http_outcome.hpp"

namespace dispatcher::channels {

TokenBucket::TokenBucket(double per_second, double burst, TimePoint now)
    : rate_(per_second), burst_(std::max(burst, 1.0)), tokens_(std::max(burst, 1.0)), last_(now) {}

void TokenBucket::refill(TimePoint now) {
  if (now > last_) {
    const double secs = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + secs * rate_);
    last_ = now;
  }
}

bool TokenBucket::try_take(TimePoint now) {
  if (rate_ <= 0) return true;
  refill(now);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

std::chrono::milliseconds TokenBucket::wait_time(TimePoint now) {
  if (rate_ <= 0) return std::chrono::milliseconds(0);
  refill(now);
  if (tokens_ >= 1.0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(
      static_cast<long long>(std::ceil((1.0 - tokens_) / rate_ * 1000.0)));
}

RateLimited::RateLimited(std::unique_ptr<Provider> inner, RateSettings settings,
                         boost::asio::io_context& io, NowFn now)
    : Provider(inner->name()),
      inner_(std::move(inner)),
      settings_(settings),
      io_(io),
      now_(now ? std::move(now) : NowFn(system_now)),
      bucket_(settings.per_second, settings.burst, now_()),
      timer_(io) {}

void RateLimited::do_send(const Envelope& e, Completion done) {
  if (waiting_.empty() && bucket_.try_take(now_())) {
    inner_->send(e, std::move(done));
    return;
  }
  if (waiting_.size() >= settings_.queue) {
    Outcome o;
    o.kind = OutcomeKind::transient;
    o.error = "rate limit queue full";
    o.retry_after =
        std::max(bucket_.wait_time(now_()), std::chrono::milliseconds(1)) *
        static_cast<long long>(
            1 + waiting_.size() /
                    std::max<std::size_t>(1, static_cast<std::size_t>(settings_.per_second)));
    complete_later(io_, std::move(done), std::move(o));
    return;
  }
  waiting_.push_back({e, std::move(done)});
  arm();
}

void RateLimited::arm() {
  if (armed_ || waiting_.empty()) return;
  armed_ = true;
  // Waking at least every 250 ms costs nothing and keeps slow rates responsive to clock changes.
  timer_.expires_after(std::clamp(bucket_.wait_time(now_()), std::chrono::milliseconds(1),
                                  std::chrono::milliseconds(250)));
  timer_.async_wait([this, alive = alive_token()](const boost::system::error_code& ec) {
    if (alive.expired()) return;
    armed_ = false;
    if (!ec) on_timer();
  });
}

void RateLimited::on_timer() {
  while (!waiting_.empty() && bucket_.try_take(now_())) {
    Waiting w = std::move(waiting_.front());
    waiting_.pop_front();
    inner_->send(w.envelope, std::move(w.done));
  }
  arm();
}

}  // namespace dispatcher::channels
