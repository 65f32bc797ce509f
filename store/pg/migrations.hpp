// The database's schema, as versioned migrations (store/migrations/NNNN_name.sql, compiled in):
// `run`, `serve` and the verbs that write apply what is missing at start-up, `check` only says
// what is. Each migration runs in its own transaction, under an advisory lock, so two processes
// starting together apply it once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/clock.hpp"
#include "store/pg/connection.hpp"

namespace dispatcher::pg {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};
const std::vector<Migration>& migrations();

// The versions this build has that the database has not applied (all of them on a new one).
std::vector<int> missing_migrations(Connection& c);

// Applies the missing migrations; returns how many were applied. Throws pg::Error naming the
// migration that failed. Also makes sure the audit's monthly partitions exist from `now`'s
// month to two months ahead.
int migrate(Connection& c, TimePoint now);

// The audit's monthly partitions from `now`'s month to `months_ahead` later (idempotent).
void ensure_audit_partitions(Connection& c, TimePoint now, int months_ahead = 2);

}  // namespace dispatcher::pg
