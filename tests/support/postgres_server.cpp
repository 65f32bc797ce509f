#include "support/postgres_server.hpp"

#include <unistd.h>

#include <atomic>
#include <random>

#include "config/clock.hpp"
#include "store/audit.hpp"
#include "store/pg/embedded_postgres.hpp"
#include "store/pg/migrations.hpp"

namespace testing_support {

namespace {

std::string cluster() {
  static const std::string admin = dispatcher::ensure_embedded_postgres(DISPATCHER_TEST_PG_DIR);
  return admin;
}

}  // namespace

TestDatabase::TestDatabase(bool migrated) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  name_ = "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
          std::to_string(rd() % 100000);
  auto admin = dispatcher::pg::Connection::connect(cluster());
  admin.exec("CREATE DATABASE " + name_);
  url_ = dispatcher::conninfo_of(std::string(DISPATCHER_TEST_PG_DIR) + "/pg", name_, "dispatcher");
  if (!migrated) return;
  auto c = connect();
  dispatcher::pg::migrate(c, dispatcher::system_now());
}

TestDatabase::~TestDatabase() {
  try {
    auto admin = dispatcher::pg::Connection::connect(cluster());
    admin.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception&) {
    // The suite's cleanup stops the cluster; a database left behind goes with its folder.
  }
}

dispatcher::pg::Connection TestDatabase::connect() const {
  return dispatcher::pg::Connection::connect(url_);
}

std::vector<std::string> TestDatabase::history(const std::string& subject) const {
  auto c = connect();
  std::vector<std::string> out;
  for (const auto& row : c.exec(dispatcher::history_sql(), {subject}).rows) out.push_back(*row[0]);
  return out;
}

}  // namespace testing_support
