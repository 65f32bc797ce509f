// The non-blocking PostgreSQL connection on an Asio loop, against a real server: statements in
// order with their rows, a refused statement that leaves the connection usable, NULLs, and a
// connection the server ends.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "store/pg/async_connection.hpp"
#include "support/postgres_server.hpp"

namespace dispatcher::pg {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct Answer {
  std::error_code ec;
  Rows rows;
  bool called = false;
};

RowsHandler into(Answer& a) {
  return [&a](std::error_code ec, Rows rows) {
    a.called = true;
    a.ec = ec;
    a.rows = std::move(rows);
  };
}

TEST(PgAsync, RunsStatementsInOrderAndHandsBackTheirRows) {
  testing_support::TestDatabase db;
  asio::io_context io;
  auto c = AsyncConnection::connect(io, db.url());
  std::vector<int> order;
  Answer a, b, n;
  c->exec("SELECT $1::int + 1 AS n, 'x' AS s", {std::string("41")}, [&](auto ec, Rows r) {
    order.push_back(1);
    into(a)(ec, std::move(r));
  });
  c->exec("SELECT generate_series(1, 3)::text", {}, [&](auto ec, Rows r) {
    order.push_back(2);
    into(b)(ec, std::move(r));
  });
  c->exec("SELECT $1::text IS NULL", {Value{}}, into(n));
  EXPECT_EQ(c->outstanding(), 3u);
  io.run_for(10s);
  ASSERT_TRUE(a.called && b.called && n.called);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_FALSE(a.ec);
  EXPECT_EQ(a.rows.columns, (std::vector<std::string>{"n", "s"}));
  ASSERT_EQ(a.rows.rows.size(), 1u);
  EXPECT_EQ(a.rows.rows[0][0], "42");
  EXPECT_EQ(b.rows.rows.size(), 3u);
  EXPECT_EQ(n.rows.rows.at(0).at(0), "t");
  EXPECT_EQ(c->outstanding(), 0u);
}

TEST(PgAsync, ARefusedStatementIsAnErrorCodeAndTheNextOneRuns) {
  testing_support::TestDatabase db;
  asio::io_context io;
  auto c = AsyncConnection::connect(io, db.url());
  Answer bad, good, affected;
  c->exec("SELECT * FROM no_such_table", {}, into(bad));
  c->exec("SELECT 7", {}, into(good));
  c->exec("INSERT INTO audit_entries (entry) VALUES ('a'), ('b')", {}, into(affected));
  io.run_for(10s);
  ASSERT_TRUE(bad.called && good.called && affected.called);
  EXPECT_EQ(bad.ec, make_error_code(Errc::statement_failed));
  EXPECT_EQ(kind_of(bad.ec), ErrorKind::server);
  EXPECT_FALSE(good.ec);
  EXPECT_EQ(good.rows.rows.at(0).at(0), "7");
  EXPECT_EQ(affected.rows.affected, 2);
  EXPECT_TRUE(c->connected());
}

TEST(PgAsync, AConnectionTheServerEndsFailsWhatWaitsAndWhatComesAfter) {
  testing_support::TestDatabase db;
  asio::io_context io;
  auto c = AsyncConnection::connect(io, db.url());
  Answer pid;
  c->exec("SELECT pg_backend_pid()", {}, into(pid));
  io.run_for(10s);
  ASSERT_FALSE(pid.ec);
  // Another session ends ours, as a server restart or a failover would.
  db.connect().exec("SELECT pg_terminate_backend($1::int)", {*pid.rows.rows.at(0).at(0)});
  Answer during, after;
  io.restart();
  c->exec("SELECT 1", {}, into(during));
  io.run_for(10s);
  ASSERT_TRUE(during.called);
  EXPECT_TRUE(during.ec);
  EXPECT_EQ(kind_of(during.ec), ErrorKind::network);
  EXPECT_FALSE(c->connected());
  io.restart();
  c->exec("SELECT 1", {}, into(after));
  io.run_for(10s);
  ASSERT_TRUE(after.called);
  EXPECT_EQ(after.ec, make_error_code(Errc::connection_lost));
}

TEST(PgAsync, CannotConnectIsAnExceptionAtStartUp) {
  asio::io_context io;
  EXPECT_THROW(AsyncConnection::connect(io, "host=/nonexistent-dir dbname=x"), Error);
}

}  // namespace
}  // namespace dispatcher::pg
