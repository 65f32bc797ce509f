#include "store/pg/migrations.hpp"

#include <date/date.h>

#include <algorithm>
#include <cstdio>

namespace dispatcher::pg {

// Generated from store/migrations/*.sql at build time (store/CMakeLists.txt).
namespace migration_files {
std::string_view migration_0001();
std::string_view migration_0002();
std::string_view migration_0003();
std::string_view migration_0004();
std::string_view migration_0005();
}  // namespace migration_files

namespace {
// Any constant both sides agree on: pg_advisory_lock keys one lock per database.
constexpr const char* lock_key = "7317001";
}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all{
      {1, "audit", migration_files::migration_0001()},
      {2, "consent_proofs", migration_files::migration_0002()},
      {3, "webhook_events", migration_files::migration_0003()},
      {4, "subject_requests", migration_files::migration_0004()},
      {5, "hot_state", migration_files::migration_0005()},
  };
  return all;
}

std::vector<int> missing_migrations(Connection& c) {
  std::vector<int> applied;
  auto exists = c.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (exists.rows.at(0).at(0) == "t")
    for (const auto& row : c.exec("SELECT version FROM schema_migrations").rows)
      applied.push_back(std::stoi(*row.at(0)));
  std::vector<int> missing;
  for (const auto& m : migrations())
    if (std::find(applied.begin(), applied.end(), m.version) == applied.end())
      missing.push_back(m.version);
  return missing;
}

int migrate(Connection& c, TimePoint now) {
  c.exec(std::string("SELECT pg_advisory_lock(") + lock_key + ")");
  int applied = 0;
  try {
    c.script(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT "
        "NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    const auto missing = missing_migrations(c);
    for (const auto& m : migrations()) {
      if (std::find(missing.begin(), missing.end(), m.version) == missing.end()) continue;
      try {
        c.script("BEGIN");
        c.script(std::string(m.sql));
        c.exec("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
               {std::to_string(m.version), std::string(m.name)});
        c.script("COMMIT");
      } catch (const Error& e) {
        c.script("ROLLBACK");
        char number[8];
        std::snprintf(number, sizeof number, "%04d", m.version);
        throw Error("migration " + std::string(number) + "_" + std::string(m.name) +
                    ".sql: " + e.what());
      }
      ++applied;
    }
    ensure_audit_partitions(c, now);
  } catch (...) {
    c.exec(std::string("SELECT pg_advisory_unlock(") + lock_key + ")");
    throw;
  }
  c.exec(std::string("SELECT pg_advisory_unlock(") + lock_key + ")");
  return applied;
}

void ensure_audit_partitions(Connection& c, TimePoint now, int months_ahead) {
  const auto day = date::floor<date::days>(now);
  date::year_month ym{date::year_month_day{day}.year(), date::year_month_day{day}.month()};
  for (int i = 0; i <= months_ahead; ++i) {
    const date::year_month from = ym + date::months{i}, to = from + date::months{1};
    char name[32], lower[16], upper[16];
    std::snprintf(name, sizeof name, "audit_%04d%02u", int(from.year()), unsigned(from.month()));
    std::snprintf(lower, sizeof lower, "%04d-%02u-01", int(from.year()), unsigned(from.month()));
    std::snprintf(upper, sizeof upper, "%04d-%02u-01", int(to.year()), unsigned(to.month()));
    // Bounds in UTC: a partition is a calendar month of UTC time.
    c.script(std::string("CREATE TABLE IF NOT EXISTS ") + name +
             " PARTITION OF audit FOR VALUES FROM ('" + lower + " 00:00+00') TO ('" + upper +
             " 00:00+00')");
  }
}

}  // namespace dispatcher::pg
