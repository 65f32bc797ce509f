// When to try a transient failure again: exponential backoff with full jitter, capped, and never
// sooner than the provider's Retry-After. Pure: the caller brings the random generator.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

namespace dispatcher::channels {

struct RetryPolicy {
  std::chrono::milliseconds base{1'000};           // ceiling of the first retry's delay
  std::chrono::milliseconds cap{15 * 60 * 1'000};  // ceiling of any backoff delay
  std::chrono::milliseconds max_retry_after{
      24 * 3600 * 1'000};     // a provider's Retry-After is honoured up to this
  unsigned max_attempts = 8;  // the pipeline dead-letters after this many
};

// attempt: 1 for the first retry. Delay = uniform[0, min(cap, base·2^(attempt−1))] ("full
// jitter"), raised to Retry-After when the provider asked for more.
template <class Rng>
std::chrono::milliseconds retry_delay(unsigned attempt,
                                      std::optional<std::chrono::milliseconds> retry_after,
                                      Rng& rng, const RetryPolicy& p = {}) {
  const unsigned shift = std::min(attempt == 0 ? 0u : attempt - 1, 40u);
  const std::int64_t base = std::max<std::int64_t>(p.base.count(), 1);
  const std::int64_t cap = std::max<std::int64_t>(p.cap.count(), base);
  const std::int64_t ceiling =
      shift >= 40 || base > (cap >> shift) ? cap : std::min(cap, base << shift);
  std::uniform_int_distribution<std::int64_t> jitter(0, ceiling);
  std::chrono::milliseconds delay(jitter(rng));
  if (retry_after) delay = std::max(delay, std::min(*retry_after, p.max_retry_after));
  return delay;
}

}  // namespace dispatcher::channels
