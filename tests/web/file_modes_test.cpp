// Files with personal data are owner-only (issue 17): after `dispatcher run` with the embedded
// default (a private redis-server and PostgreSQL cluster, the outbox), the data directory, the
// secret, Redis's AOF, the cluster and the outbox are 0700/0600 (the data directory 0711 when
// root runs it: the cluster's own user passes through); `run` warns, naming the file, when one
// is readable by others.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "store/embedded_redis.hpp"
#include "store/pg/embedded_postgres.hpp"
#include "support/redis_server.hpp"

namespace web_testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

class EmbeddedRun : public ::testing::Test {
 protected:
  // A root run hands var/pg to `postgres`, which must pass through the temp dir.
  EmbeddedRun() { fs::permissions(tmp_.path(), fs::perms(0711)); }
  ~EmbeddedRun() override {
    dispatcher::stop_embedded_postgres(data_dir());
    std::ifstream in(data_dir() / "redis.pid");
    pid_t pid = 0;
    in >> pid;
    dispatcher::stop_embedded_redis(data_dir());
    if (pid > 0 && !testing_support::wait_until([&] { return ::kill(pid, 0) != 0; }, 10s))
      ::kill(pid, SIGKILL);
  }
  fs::path data_dir() const { return tmp_.path() / "var"; }
  testing_support::Result run(const std::vector<std::string>& args, const std::string& in = "") {
    fs::path stdin_file;
    if (!in.empty()) {
      stdin_file = tmp_.path() / ("stdin-" + std::to_string(n_++));
      testing_support::write_file(stdin_file, in);
    }
    std::vector<std::string> a{"--config", (tmp_.path() / "dispatcher.yaml").string()};
    a.insert(a.end(), args.begin(), args.end());
    // No DISPATCHER_REDIS_URL nor DISPATCHER_DATABASE_URL: the embedded default.
    return testing_support::run_dispatcher(
        a, tmp_.path(), {{"DISPATCHER_DATA_DIR", data_dir().string()}}, stdin_file);
  }
  testing_support::TempDir tmp_;
  int n_ = 0;
};

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

TEST_F(EmbeddedRun, DataFilesAreOwnerOnlyAndAnOpenOneIsNamedAtStartUp) {
  testing_support::write_file(tmp_.path() / "dispatcher.yaml",
                              "consumer:\n  block_ms: 100\n  scheduler_interval_ms: 50\n");
  const json reminder = {
      {"id", "modes-1"},
      {"sender", "clinic:c-102"},
      {"purpose", "reservation"},
      {"to",
       {{"contact", {{"phone", "+819012348001"}, {"email", "hanako@example.jp"}}},
        {"clinic", "c-102"},
        {"source", "patient_registry"}}},
      {"channels", {"sms"}},
      {"template", "reservation.reminder"},
      {"data",
       {{"name", "患者"},
        {"clinic_name", "さくら歯科"},
        {"starts_at", "12月1日 10:00"},
        {"clinic_phone", "03-1234-5678"},
        {"reservation_url", "https://example.jp/r"}}}};
  auto enq = run({"enqueue", "-"}, reminder.dump() + "\n");
  ASSERT_EQ(enq.exit_code, 0) << enq.err;
  auto r = run({"run", "--until-idle"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // The data directory, the secret, the outbox and everything of Redis's (AOF included).
  EXPECT_EQ(mode_of(data_dir()), ::geteuid() == 0 ? 0711u : 0700u);
  EXPECT_EQ(mode_of(data_dir() / "pg"), 0700u);
  EXPECT_EQ(mode_of(data_dir() / "secret"), 0600u);
  ASSERT_TRUE(fs::exists(data_dir() / "outbox" / "sms.jsonl"));
  int aof = 0;
  for (const auto& e : fs::recursive_directory_iterator(data_dir())) {
    if (e.is_socket()) continue;
    const mode_t m = mode_of(e.path());
    EXPECT_EQ(m & 077, 0u) << e.path() << " is " << std::oct << m;
    aof += e.path().string().find(".aof") != std::string::npos;
  }
  EXPECT_GE(aof, 1) << "redis wrote its append-only file";

  // One readable by others is named at the next start-up.
  fs::permissions(data_dir() / "outbox" / "sms.jsonl", fs::perms(0644));
  auto again = run({"run", "--until-idle"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(
      (again.err + again.out)
          .find((data_dir() / "outbox" / "sms.jsonl").string() + " is readable by group or others"),
      std::string::npos)
      << again.err;
  EXPECT_EQ((r.err + r.out).find("readable by group or others"), std::string::npos) << r.err;
}

TEST_F(EmbeddedRun, StatusSaysWhereBothRunAndStopStopsThem) {
  testing_support::write_file(tmp_.path() / "dispatcher.yaml", "consumer:\n  block_ms: 100\n");
  auto before = run({"embedded", "status"});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_NE(before.out.find("redis: not running"), std::string::npos) << before.out;
  EXPECT_NE(before.out.find("postgresql: not running"), std::string::npos) << before.out;
  // A verb that needs both starts both (history reads the system of record).
  auto h = run({"history", "m-1"});
  ASSERT_EQ(h.exit_code, 0) << h.err;
  auto during = run({"embedded", "status"});
  EXPECT_NE(during.out.find("redis: running, pid "), std::string::npos) << during.out;
  EXPECT_NE(during.out.find("socket " + (data_dir() / "redis.sock").string()), std::string::npos)
      << during.out;
  EXPECT_NE(during.out.find("postgresql: running, pid "), std::string::npos) << during.out;
  EXPECT_NE(during.out.find((data_dir() / "pg").string() + "/.s.PGSQL.5432"), std::string::npos)
      << during.out;
  EXPECT_NE(during.out.find(::geteuid() == 0 ? "as user postgres" : "as user "), std::string::npos)
      << during.out;
  EXPECT_NE(during.out.find("no TCP"), std::string::npos) << during.out;
  auto stop = run({"embedded", "stop"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  auto after = run({"embedded", "status"});
  EXPECT_NE(after.out.find("redis: not running"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("postgresql: not running"), std::string::npos) << after.out;
}

}  // namespace
}  // namespace web_testing
