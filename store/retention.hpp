// What the system of record keeps, and for how long (config `retention`): the audit by whole
// months — a month's partition goes once all of it is older than audit_days —, consent proofs
// by consent_days, and the marks of written stream entries after a week (entries are claimed
// within the visibility timeout, never weeks later). Applied at start-up by the verbs that
// migrate, with the time given (tests inject it).
#pragma once

#include <string>
#include <vector>

#include "config/clock.hpp"
#include "store/pg/connection.hpp"

namespace dispatcher {

struct RetentionDone {
  std::vector<std::string> dropped_partitions;  // audit_YYYYMM
  long long audit_rows = 0;                     // deleted from the default partition
  long long consent_proofs = 0;
  long long entry_marks = 0;
};

RetentionDone apply_retention(pg::Connection& c, TimePoint now, int audit_days, int consent_days);

}  // namespace dispatcher
