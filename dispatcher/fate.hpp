// What becomes of a message once it has been through the gate and, for a send, its provider:
// the pure half of the consumer's work. The consumer loop only reads, calls and writes; what a
// provider's answer means (sent, retry at T, dead letter with reason, suppress the address) is
// decided here, from values alone, and tested without sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

#include "channels/provider.hpp"
#include "channels/retry.hpp"

namespace dispatcher {

enum class Fate : std::uint8_t {
  pending,    // still travelling
  duplicate,  // the id was already decided (or is being handled by another entry)
  dead,       // dead-letter stream, with a reason
  decided,    // deny or defer by policy
  sent,       // a provider accepted it
  retry,      // a transient failure: back to the scheduled set
  failed,     // the provider refused it for good
};

struct Delivery {
  Fate fate = Fate::sent;
  std::string reason, detail;                // dead: why, and the provider's last error
  std::chrono::milliseconds retry_delay{0};  // retry: how long from now
  bool suppress = false;  // failed: the address is dead (hard bounce, UNREGISTERED …)
};

// A provider's answer to a delivery that had `attempts` provider attempts before it. Transient
// failures retry after channels::retry_delay (full jitter, Retry-After honoured up to its cap)
// until `policy.max_attempts` attempts in all, then dead-letter `attempts_exhausted` with the
// last error; permanent ones fail, suppressing the address when the provider says it is dead.
Delivery fate_of(const channels::Outcome& o, int attempts, const channels::RetryPolicy& policy,
                 std::mt19937_64& rng);

}  // namespace dispatcher
