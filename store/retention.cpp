#include "store/retention.hpp"

#include <date/date.h>

#include <cstdio>

namespace dispatcher {

namespace {

// The first instant after the month of a partition named audit_YYYYMM; nullopt for any other.
std::optional<TimePoint> month_end(const std::string& name) {
  int year = 0;
  unsigned month = 0;
  char tail = 0;
  if (std::sscanf(name.c_str(), "audit_%4d%2u%c", &year, &month, &tail) != 2 || month < 1 ||
      month > 12)
    return std::nullopt;
  const date::year_month next = date::year{year} / date::month{month} + date::months{1};
  return date::sys_days{next / 1};
}

}  // namespace

RetentionDone apply_retention(pg::Connection& c, TimePoint now, int audit_days, int consent_days) {
  RetentionDone done;
  const TimePoint audit_cutoff = now - std::chrono::hours(24) * audit_days;
  const TimePoint consent_cutoff = now - std::chrono::hours(24) * consent_days;
  auto partitions = c.exec(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "WHERE i.inhparent = 'audit'::regclass ORDER BY 1");
  for (const auto& row : partitions.rows) {
    const std::string name = *row.at(0);
    auto end = month_end(name);
    if (!end || *end > audit_cutoff) continue;
    c.script("DROP TABLE " + name);  // a month at once: no row-by-row delete, no bloat
    done.dropped_partitions.push_back(name);
  }
  const std::string audit_at = format_rfc3339(audit_cutoff);
  done.audit_rows =
      c.exec("DELETE FROM audit_default WHERE time < $1::timestamptz", {audit_at}).affected;
  done.consent_proofs = c.exec("DELETE FROM consent_proofs WHERE time < $1::timestamptz",
                               {format_rfc3339(consent_cutoff)})
                            .affected;
  done.entry_marks = c.exec("DELETE FROM audit_entries WHERE recorded_at < $1::timestamptz",
                            {format_rfc3339(now - std::chrono::hours(24 * 7))})
                         .affected;
  return done;
}

}  // namespace dispatcher
