// Test fixture: a database of its own for each test, in one PostgreSQL cluster the suite shares.
//
// The cluster is the dispatcher's own embedded one (store/pg/embedded_postgres.hpp: initdb on
// first use, Unix socket only), in a folder under the temp directory named after the build tree
// (DISPATCHER_TEST_PG_DIR), so the normal and the sanitizer builds do not share one. CTest starts
// it before the tests (`dispatcher migrate` there) and stops it after; a test run by hand starts
// it on first use. Each TestDatabase is a fresh `CREATE DATABASE`, migrated, dropped at the end.
#pragma once

#include <string>

#include "store/pg/connection.hpp"

namespace testing_support {

class TestDatabase {
 public:
  // Throws when the cluster cannot be started or the database created; `migrated`: false leaves
  // it empty (for the migrations' own tests).
  explicit TestDatabase(bool migrated = true);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // A libpq connection string: DISPATCHER_DATABASE_URL or database.url for the dispatcher.
  const std::string& url() const { return url_; }
  dispatcher::pg::Connection connect() const;
  // Every audit record of `subject`, oldest first, as `history` prints them.
  std::vector<std::string> history(const std::string& subject) const;

 private:
  std::string name_, url_;
};

}  // namespace testing_support
