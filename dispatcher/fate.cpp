#include "dispatcher/fate.hpp"

namespace dispatcher {

Delivery fate_of(const channels::Outcome& o, int attempts, const channels::RetryPolicy& policy,
                 std::mt19937_64& rng) {
  Delivery d;
  switch (o.kind) {
    case channels::OutcomeKind::accepted:
      d.fate = Fate::sent;
      break;
    case channels::OutcomeKind::permanent:
      d.fate = Fate::failed;
      d.suppress = o.suppress_address;
      break;
    case channels::OutcomeKind::transient: {
      const unsigned made =
          static_cast<unsigned>(attempts < 0 ? 0 : attempts) + 1;  // counting this one
      if (made >= policy.max_attempts) {
        d.fate = Fate::dead;
        d.reason = "attempts_exhausted";
        d.detail = o.error;
      } else {
        d.fate = Fate::retry;
        d.retry_delay = channels::retry_delay(made, o.retry_after, rng, policy);
      }
      break;
    }
  }
  return d;
}

}  // namespace dispatcher
