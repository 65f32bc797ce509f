// The schema's versioned migrations on a real, empty PostgreSQL database: what is missing, what
// migrate() applies (once, however often it runs), and the audit's monthly partitions.
#include "store/pg/migrations.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "support/postgres_server.hpp"

namespace dispatcher::pg {
namespace {

TimePoint at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

std::vector<std::string> partitions(Connection& c) {
  std::vector<std::string> out;
  for (const auto& r : c.exec("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = "
                              "i.inhrelid WHERE i.inhparent = 'audit'::regclass ORDER BY 1")
                           .rows)
    out.push_back(*r[0]);
  return out;
}

TEST(Migrations, AreNumberedFromOneWithoutGapsAndNamed) {
  const auto& all = migrations();
  ASSERT_FALSE(all.empty());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(all[i].name.empty());
    EXPECT_NE(all[i].sql.find("CREATE"), std::string_view::npos) << all[i].name;
  }
}

TEST(Migrations, AnEmptyDatabaseLacksThemAllAndMigrateAppliesThemOnce) {
  testing_support::TestDatabase db(/*migrated=*/false);
  auto c = db.connect();
  EXPECT_EQ(missing_migrations(c).size(), migrations().size());
  EXPECT_EQ(migrate(c, at("2026-12-01T00:00:00Z")), static_cast<int>(migrations().size()));
  EXPECT_TRUE(missing_migrations(c).empty());
  EXPECT_EQ(migrate(c, at("2026-12-01T00:00:00Z")), 0) << "nothing twice";
  EXPECT_EQ(*c.exec("SELECT count(*) FROM schema_migrations").rows[0][0],
            std::to_string(migrations().size()));
}

TEST(Migrations, TwoProcessesMigratingAtOnceApplyEachOnce) {
  testing_support::TestDatabase db(/*migrated=*/false);
  std::vector<int> applied(2, -1);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&, i] {
      try {
        auto c = db.connect();
        applied[i] = migrate(c, at("2026-12-01T00:00:00Z"));
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(applied[0] + applied[1], static_cast<int>(migrations().size()));
}

TEST(Migrations, MakeThisMonthsAndTheNextTwoMonthsPartitions) {
  testing_support::TestDatabase db(/*migrated=*/false);
  auto c = db.connect();
  migrate(c, at("2026-11-15T12:00:00Z"));
  EXPECT_EQ(partitions(c), (std::vector<std::string>{"audit_202611", "audit_202612", "audit_202701",
                                                     "audit_default"}));
  // Later start-ups add what is ahead of them; the year turns.
  ensure_audit_partitions(c, at("2027-01-31T23:59:59Z"));
  EXPECT_EQ(partitions(c),
            (std::vector<std::string>{"audit_202611", "audit_202612", "audit_202701",
                                      "audit_202702", "audit_202703", "audit_default"}));
  // A partition is a UTC calendar month: the last second of November is in November's.
  c.exec(
      "INSERT INTO audit (time, subject, event, record) VALUES ('2026-11-30T23:59:59Z', 's', "
      "'decision', '{}'), ('2026-12-01T00:00:00Z', 's', 'decision', '{}')");
  EXPECT_EQ(*c.exec("SELECT count(*) FROM audit_202611").rows[0][0], "1");
  EXPECT_EQ(*c.exec("SELECT count(*) FROM audit_202612").rows[0][0], "1");
}

TEST(Migrations, AFailedStatementNamesTheServersWords) {
  testing_support::TestDatabase db;
  auto c = db.connect();
  try {
    c.exec("SELECT * FROM no_such_table");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_table"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line";
  }
  EXPECT_EQ(*c.exec("SELECT 1").rows[0][0], "1") << "the connection goes on";
}

}  // namespace
}  // namespace dispatcher::pg
