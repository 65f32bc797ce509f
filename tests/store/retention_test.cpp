// Retention in a real PostgreSQL with the clock injected: whole months of the audit go once they
// are older than audit_days (history no longer shows them), consent proofs stay until
// consent_days, and what is recent is untouched.
#include "store/retention.hpp"

#include <gtest/gtest.h>

#include "store/audit.hpp"
#include "store/pg/migrations.hpp"
#include "support/postgres_server.hpp"

namespace dispatcher {
namespace {

using nlohmann::json;

TimePoint at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

AuditRecord record(const char* time, const char* event, const char* id) {
  AuditRecord r;
  r.time = at(time);
  r.event = event;
  r.subject = "m-1";
  r.message_id = id;
  if (std::string(event) == "consent") r.channel = "email";
  return r;
}

std::vector<std::string> events(const testing_support::TestDatabase& db) {
  std::vector<std::string> out;
  for (const auto& line : db.history("m-1")) {
    auto j = json::parse(line);
    out.push_back(j["event"].get<std::string>() + "@" + j["time"].get<std::string>().substr(0, 7));
  }
  return out;
}

TEST(Retention, DropsOldMonthsOfTheAuditAndKeepsConsentProofsLonger) {
  testing_support::TestDatabase db(/*migrated=*/false);
  auto c = db.connect();
  pg::migrate(c, at("2023-01-10T00:00:00Z"));                  // partitions 2023-01 … 2023-03
  pg::ensure_audit_partitions(c, at("2026-11-01T00:00:00Z"));  // 2026-11 … 2027-01
  AuditBatch b;
  b.add(record("2023-01-20T09:00:00Z", "consent", ""));
  b.add(record("2023-01-20T10:00:00Z", "decision", "old-1"));
  b.add(record("2023-03-31T23:59:59Z", "decision", "old-2"));
  b.add(record("2026-11-20T10:00:00Z", "decision", "new-1"));
  c.exec(AuditBatch::insert_sql(), {b.param()});
  ASSERT_EQ(events(db), (std::vector<std::string>{"consent@2023-01", "decision@2023-01",
                                                  "decision@2023-03", "decision@2026-11"}));

  // Three years on from 2026-12-01 is 2023-12-02: every 2023 month before it goes whole.
  auto done = apply_retention(c, at("2026-12-01T00:00:00Z"), 1095, 3650);
  EXPECT_EQ(done.dropped_partitions,
            (std::vector<std::string>{"audit_202301", "audit_202302", "audit_202303"}));
  EXPECT_EQ(done.consent_proofs, 0);
  EXPECT_EQ(events(db), (std::vector<std::string>{"consent@2023-01", "decision@2026-11"}))
      << "the proof outlives the decisions of its month";

  // Applied again, nothing more goes; ten years on, the proof does.
  EXPECT_TRUE(
      apply_retention(c, at("2026-12-01T00:00:00Z"), 1095, 3650).dropped_partitions.empty());
  done = apply_retention(c, at("2033-02-01T00:00:00Z"), 3650, 3650);
  EXPECT_EQ(done.consent_proofs, 1);
  EXPECT_EQ(events(db), (std::vector<std::string>{"decision@2026-11"}));
}

TEST(Retention, RowsInTheDefaultPartitionGoByTheirTime) {
  testing_support::TestDatabase db(/*migrated=*/false);
  auto c = db.connect();
  pg::migrate(c, at("2026-12-01T00:00:00Z"));
  AuditBatch b;
  b.add(record("2001-05-05T00:00:00Z", "decision", "far-past"));  // no month of its own
  c.exec(AuditBatch::insert_sql(), {b.param()});
  EXPECT_EQ(*c.exec("SELECT count(*) FROM audit_default").rows.at(0).at(0), "1");
  auto done = apply_retention(c, at("2026-12-01T00:00:00Z"), 1095, 3650);
  EXPECT_EQ(done.audit_rows, 1);
  EXPECT_TRUE(events(db).empty());
}

}  // namespace
}  // namespace dispatcher
