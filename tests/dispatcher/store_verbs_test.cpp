// `migrate` and `check` against a real database that is behind: check says what is missing
// (and changes nothing), migrate applies it once, and a database out of reach is an error.
#include <gtest/gtest.h>

#include "dispatcher/dispatcher_env.hpp"
#include "support/postgres_server.hpp"

using namespace testing_support;

namespace {

Result run_with_database(DispatcherEnv& env, const std::string& url,
                         const std::vector<std::string>& args) {
  auto e = env.env();
  e["DISPATCHER_DATABASE_URL"] = url;
  std::vector<std::string> a{"--config", (env.dir() / "dispatcher.yaml").string()};
  a.insert(a.end(), args.begin(), args.end());
  return run_dispatcher(a, env.dir(), e);
}

TEST(StoreVerbs, CheckReportsADatabaseBehindAndMigrateBringsItUp) {
  DispatcherEnv env;
  TestDatabase behind(/*migrated=*/false);
  auto check = run_with_database(env, behind.url(), {"check"});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.err.find("database: 5 migrations not applied (0001_audit, 0002_consent_proofs, "
                           "0003_webhook_events, 0004_subject_requests, 0005_hot_state)"),
            std::string::npos)
      << check.err;
  auto c = behind.connect();
  EXPECT_EQ(*c.exec("SELECT to_regclass('audit') IS NULL").rows.at(0).at(0), "t")
      << "check changes nothing";

  auto migrate = run_with_database(env, behind.url(), {"migrate"});
  ASSERT_EQ(migrate.exit_code, 0) << migrate.err;
  EXPECT_NE(migrate.out.find("5 migrations applied"), std::string::npos) << migrate.out;
  check = run_with_database(env, behind.url(), {"check"});
  EXPECT_EQ(check.err.find("not applied"), std::string::npos) << check.err;
  migrate = run_with_database(env, behind.url(), {"migrate"});
  EXPECT_NE(migrate.out.find("0 migrations applied"), std::string::npos) << migrate.out;
}

TEST(StoreVerbs, ADatabaseOutOfReachIsAnErrorNamingIt) {
  DispatcherEnv env;
  const std::string nowhere = "host=" + (env.dir() / "no-such-socket-dir").string() + " dbname=x";
  auto check = run_with_database(env, nowhere, {"check"});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.err.find("database: postgresql: cannot connect"), std::string::npos) << check.err;
  auto history = run_with_database(env, nowhere, {"history", "m-1"});
  EXPECT_EQ(history.exit_code, 1);
  EXPECT_NE(history.err.find("postgresql: cannot connect"), std::string::npos) << history.err;
  EXPECT_EQ(history.err.find('\n'), history.err.size() - 1) << "one line: " << history.err;
}

TEST(StoreVerbs, AnOlderDispatchersRedisAuditIsMovedInAtStartUp) {
  DispatcherEnv env;
  env.redis().run(dispatcher::redis::cmd(
      "XADD", "dsp:hist:m-1", "*", "r",
      R"({"event":"optout","scope":"all","subject":"m-1","time":"2026-10-01T00:00:00Z"})"));
  auto h = env.history("m-1");  // the first verb that opens the database moves it
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0]["event"], "optout");
  EXPECT_EQ(env.redis().run(dispatcher::redis::cmd("EXISTS", "dsp:hist:m-1")).integer, 0);
  EXPECT_EQ(env.history("m-1").size(), 1u);
  auto m = env.run({"migrate"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_EQ(m.out.find("moved"), std::string::npos) << "nothing left to move: " << m.out;
}

}  // namespace
