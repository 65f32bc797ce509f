// How the outcomes of a batch are counted: one (outcome, label) pair per message, the same pair
// for the stats hash behind /metrics and for `run`'s summary, so the two never disagree.
// Labels are channel names and reason codes only, never personal data.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace dispatcher {

struct Work;

struct TallyKey {
  std::string_view outcome;  // sent, denied, deferred, dead_letter, failed, retried, duplicate
  std::string label;         // channel (sent, retried), reason code (the others), empty (duplicate)
};

// nullopt while the work is still pending.
std::optional<TallyKey> tally_key(const Work& w);

// The stats hash's field for a key: "<outcome>\t<label>".
std::string tally_field(const TallyKey& k);

class Tally {
 public:
  void add(const Work& w);
  // outcome → label → count
  const std::map<std::string, std::map<std::string, std::int64_t>>& counts() const {
    return counts_;
  }
  std::int64_t total(std::string_view outcome) const;

 private:
  std::map<std::string, std::map<std::string, std::int64_t>> counts_;
};

}  // namespace dispatcher
