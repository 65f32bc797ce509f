#include "channels/failover.hpp"

#include "channels/http_outcome.hpp"

namespace dispatcher::channels {

bool CircuitBreaker::allow(TimePoint now) {
  switch (state_) {
    case State::closed:
      return true;
    case State::open:
      if (now < opened_at_ + s_.cool_down) return false;
      state_ = State::half_open;
      trial_in_flight_ = true;
      return true;
    case State::half_open:
      if (trial_in_flight_) return false;
      trial_in_flight_ = true;
      return true;
  }
  return false;
}

void CircuitBreaker::on_success() {
  state_ = State::closed;
  failures_ = 0;
  trial_in_flight_ = false;
}

void CircuitBreaker::on_failure(TimePoint now) {
  trial_in_flight_ = false;
  if (state_ == State::half_open) {
    state_ = State::open;
    opened_at_ = now;
    return;
  }
  if (++failures_ >= s_.failures_to_open && state_ == State::closed) {
    state_ = State::open;
    opened_at_ = now;
  }
}

CircuitBreaker::State CircuitBreaker::state(TimePoint now) const {
  if (state_ == State::open && now >= opened_at_ + s_.cool_down) return State::half_open;
  return state_;
}

struct Failover::Attempt {
  Envelope envelope;
  Completion done;
  std::optional<Outcome> last;
};

Failover::Failover(std::string name, std::vector<std::unique_ptr<Provider>> providers,
                   BreakerSettings breaker, boost::asio::io_context& io, NowFn now)
    : Provider(std::move(name)),
      providers_(std::move(providers)),
      breakers_(providers_.size(), CircuitBreaker(breaker)),
      io_(io),
      now_(now ? std::move(now) : NowFn(system_now)) {}

bool Failover::already_accepted(std::string_view sender, std::string_view id) {
  for (auto& p : providers_)
    if (p->already_accepted(sender, id)) return true;
  return false;
}

std::vector<ConnectTarget> Failover::connect_targets() const {
  std::vector<ConnectTarget> all;
  for (const auto& p : providers_)
    for (auto& t : p->connect_targets()) all.push_back(std::move(t));
  return all;
}

void Failover::do_send(const Envelope& e, Completion done) {
  auto a = std::make_shared<Attempt>();
  a->envelope = e;
  a->done = std::move(done);
  try_from(std::move(a), 0);
}

void Failover::try_from(std::shared_ptr<Attempt> a, std::size_t i) {
  const TimePoint now = now_();
  for (; i < providers_.size(); ++i) {
    if (!breakers_[i].allow(now)) continue;
    providers_[i]->send(a->envelope, [this, alive = alive_token(), a, i](Outcome o) mutable {
      if (alive.expired()) return;
      if (o.kind == OutcomeKind::transient) {
        breakers_[i].on_failure(now_());
        a->last = std::move(o);
        try_from(std::move(a), i + 1);
        return;
      }
      breakers_[i].on_success();  // accepted, or a permanent answer: the provider works
      a->done(std::move(o));
    });
    return;
  }
  // Nobody left: the last transient failure, or "all circuits open" with when one reopens.
  Outcome o;
  if (a->last) {
    o = std::move(*a->last);
  } else {
    o.kind = OutcomeKind::transient;
    o.error = "all providers unavailable (circuits open)";
    o.provider = name();
  }
  TimePoint soonest = TimePoint::max();
  for (auto& b : breakers_)
    if (b.state(now) == CircuitBreaker::State::open) soonest = std::min(soonest, b.reopens_at());
  if (soonest != TimePoint::max() && !o.retry_after)
    o.retry_after = std::max(std::chrono::milliseconds(0),
                             std::chrono::duration_cast<std::chrono::milliseconds>(soonest - now));
  // Answer from the loop, never from inside do_send's caller.
  complete_later(io_, std::move(a->done), std::move(o));
}

}  // namespace dispatcher::channels
