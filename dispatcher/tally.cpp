#include "dispatcher/tally.hpp"

#include "dispatcher/batch.hpp"

namespace dispatcher {

std::optional<TallyKey> tally_key(const Work& w) {
  switch (w.fate) {
    case Fate::pending:
      return std::nullopt;
    case Fate::duplicate:
      return TallyKey{"duplicate", ""};
    case Fate::dead:
      return TallyKey{"dead_letter", w.reason};
    case Fate::decided:
      return TallyKey{w.decision.verdict == policy::Verdict::defer ? "deferred" : "denied",
                      w.decision.reason};
    case Fate::sent:
      return TallyKey{"sent", std::string(to_string(w.envelope.channel))};
    case Fate::retry:
      return TallyKey{"retried", std::string(to_string(w.envelope.channel))};
    case Fate::failed:
      return TallyKey{"failed", w.suppress ? "address_suppressed" : "provider_rejected"};
  }
  return std::nullopt;
}

std::string tally_field(const TallyKey& k) { return std::string(k.outcome) + "\t" + k.label; }

void Tally::add(const Work& w) {
  if (auto k = tally_key(w)) ++counts_[std::string(k->outcome)][k->label];
}

std::int64_t Tally::total(std::string_view outcome) const {
  auto it = counts_.find(std::string(outcome));
  if (it == counts_.end()) return 0;
  std::int64_t n = 0;
  for (const auto& [_, v] : it->second) n += v;
  return n;
}

}  // namespace dispatcher
