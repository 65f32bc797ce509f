// The private PostgreSQL cluster of the embedded default, for real: initdb into a temporary
// data directory, a Unix socket in pg/ and no TCP, found again by the next caller, run as
// Debian's `postgres` user when we are root, stopped.
#include "store/pg/embedded_postgres.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/pg/connection.hpp"
#include "support/redis_server.hpp"

namespace dispatcher {
namespace {

namespace fs = std::filesystem;

class EmbeddedPostgres : public ::testing::Test {
 protected:
  void SetUp() override {
    // A root test run hands pg/ to `postgres`, which must be able to reach it.
    ::chmod(tmp_.path().c_str(), 0711);
  }
  void TearDown() override { stop_embedded_postgres(data_); }
  testing_support::TempDir tmp_;
  fs::path data_ = tmp_.path() / "var";
};

TEST_F(EmbeddedPostgres, StartsOnFirstUseListensOnlyOnItsSocketAndIsFoundAgain) {
  EXPECT_FALSE(embedded_postgres_status(data_).running);
  const std::string url = ensure_embedded_postgres(data_);
  EXPECT_TRUE(fs::exists(data_ / "pg" / "PG_VERSION"));
  EXPECT_TRUE(fs::exists(data_ / "pg" / ".s.PGSQL.5432"));
  struct stat st {};
  ASSERT_EQ(::stat((data_ / "pg").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "pg/ is its owner's alone";

  auto c = pg::Connection::connect(url);
  EXPECT_EQ(*c.exec("SHOW listen_addresses").rows.at(0).at(0), "") << "no TCP";
  EXPECT_EQ(*c.exec("SELECT current_user").rows.at(0).at(0), "dispatcher");
  EXPECT_EQ(*c.exec("SELECT current_database()").rows.at(0).at(0), "dispatcher");
  EXPECT_EQ(
      *c.exec("SELECT rolsuper::text FROM pg_roles WHERE rolname = 'dispatcher'").rows.at(0).at(0),
      "true");
  c.exec("CREATE TABLE kept (n int)");
  c.exec("INSERT INTO kept VALUES (7)");

  auto status = embedded_postgres_status(data_);
  EXPECT_TRUE(status.running);
  EXPECT_GT(status.pid, 0);
  EXPECT_EQ(status.os_user, ::geteuid() == 0 ? "postgres" : status.os_user);
  // The next verb finds the same server (same pid), not a second one.
  EXPECT_EQ(ensure_embedded_postgres(data_), url);
  EXPECT_EQ(embedded_postgres_status(data_).pid, status.pid);

  // Stopped, then started again on the same data: what was written is there.
  stop_embedded_postgres(data_);
  EXPECT_FALSE(embedded_postgres_status(data_).running);
  auto again = pg::Connection::connect(ensure_embedded_postgres(data_));
  EXPECT_EQ(*again.exec("SELECT n FROM kept").rows.at(0).at(0), "7");
}

TEST_F(EmbeddedPostgres, ConnectionStringsQuoteWhatLibpqWouldMisread) {
  EXPECT_EQ(conninfo_of("/tmp/a b/it's", "d", "u"), "host='/tmp/a b/it\\'s' dbname='d' user='u'");
}

}  // namespace
}  // namespace dispatcher
