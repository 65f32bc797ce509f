#include "channels/provider.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace dispatcher::channels {

std::string_view to_string(OutcomeKind k) noexcept {
  switch (k) {
    case OutcomeKind::accepted:
      return "accepted";
    case OutcomeKind::transient:
      return "transient";
    case OutcomeKind::permanent:
      return "permanent";
  }
  return "?";
}

void Provider::send(const Envelope& e, Completion done) {
  ++in_flight_;
  const auto started = std::chrono::steady_clock::now();
  do_send(e, [this, alive = alive_token(), started, done = std::move(done)](Outcome o) mutable {
    if (alive.expired()) return;  // the provider is gone (shutdown): nobody is left to answer
    --in_flight_;
    if (o.provider.empty()) o.provider = name_;
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    if (answers_itself()) o.latency = std::max(took, std::chrono::microseconds(1));
    if (o.kind != OutcomeKind::accepted)
      spdlog::warn("provider {}: {} after {} us: {}", name_, to_string(o.kind), took.count(),
                   o.error);
    done(std::move(o));
  });
}

}  // namespace dispatcher::channels
