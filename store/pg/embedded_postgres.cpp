#include "store/pg/embedded_postgres.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "config/private_files.hpp"
#include "store/file_lock.hpp"
#include "store/pg/connection.hpp"

extern char** environ;

namespace dispatcher {

namespace fs = std::filesystem;

namespace {

constexpr const char* bin_dir = "/usr/lib/postgresql/15/bin";
constexpr const char* role = "dispatcher";

// Runs a PostgreSQL program (as `postgres` when we are root), its output appended to `log`;
// returns its exit status.
int run_program(std::vector<std::string> args, const fs::path& log) {
  if (::geteuid() == 0) args.insert(args.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (spawned != 0) throw std::runtime_error("cannot start " + args.front());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::optional<long> postmaster_pid(const fs::path& pgdir) {
  std::ifstream in(pgdir / "postmaster.pid");
  long pid = 0;
  if (in >> pid && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0) return pid;
  return std::nullopt;
}

bool answers(const std::string& conninfo) { return PQping(conninfo.c_str()) == PQPING_OK; }

void create_database(const fs::path& pgdir) {
  auto c = pg::Connection::connect(conninfo_of(pgdir, "postgres", role));
  if (c.exec("SELECT 1 FROM pg_database WHERE datname = $1", {std::string(role)}).rows.empty())
    c.exec(std::string("CREATE DATABASE ") + role);
}

bool database_exists(const fs::path& pgdir) {
  try {
    pg::Connection::connect(conninfo_of(pgdir, role, role));
    return true;
  } catch (const pg::Error&) {
    return false;
  }
}

// Whether `postgres` (uid, gid) may pass through a folder.
bool traversable(const fs::path& p, const passwd* pw) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return false;
  if (st.st_uid == pw->pw_uid) return st.st_mode & S_IXUSR;
  if (st.st_gid == pw->pw_gid) return st.st_mode & S_IXGRP;
  return st.st_mode & S_IXOTH;
}

// As root: pg/ belongs to `postgres`, and every folder above it lets that user through. The
// data directory and the folders under the working directory that lead to it (ours: created
// 0700) are opened to 0711 — through, not read; a folder elsewhere that bars the way is named.
void hand_over(const fs::path& dir, const fs::path& pgdir) {
  const passwd* pw = ::getpwnam("postgres");
  if (!pw)
    throw std::runtime_error(
        "running as root, the embedded PostgreSQL needs Debian's postgres user (install "
        "postgresql-15, or set DISPATCHER_DATABASE_URL)");
  const fs::path cwd = fs::current_path();
  for (fs::path p = dir; !p.empty(); p = p.parent_path()) {
    if (!traversable(p, pw)) {
      const auto rel = p.lexically_relative(cwd);
      const bool ours = p == dir || (!rel.empty() && *rel.begin() != ".." && rel != ".");
      struct stat st {};
      if (!ours || ::stat(p.c_str(), &st) != 0 || ::chmod(p.c_str(), (st.st_mode & 07777) | 0711))
        throw std::runtime_error(
            "the embedded PostgreSQL runs as the postgres user, who cannot "
            "pass through " +
            p.string() +
            " (chmod o+x it, put the data directory elsewhere, or set "
            "DISPATCHER_DATABASE_URL)");
    }
    if (p == p.root_path()) break;
  }
  if (::chown(pgdir.c_str(), pw->pw_uid, pw->pw_gid) != 0)
    throw std::runtime_error("cannot hand " + pgdir.string() + " to the postgres user");
}

}  // namespace

std::string conninfo_of(const fs::path& socket_dir, const std::string& dbname,
                        const std::string& user) {
  auto quote = [](const std::string& v) {
    std::string q = "'";
    for (char c : v) {
      if (c == '\'' || c == '\\') q += '\\';
      q += c;
    }
    return q + "'";
  };
  return "host=" + quote(socket_dir.string()) + " dbname=" + quote(dbname) + " user=" + quote(user);
}

std::string ensure_embedded_postgres(const fs::path& data_dir) {
  try {
    config::create_private_directories(data_dir);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot create data directory " + data_dir.string() + ": " + e.what());
  }
  const fs::path dir = fs::absolute(data_dir);
  const fs::path pgdir = dir / "pg";
  if ((pgdir / ".s.PGSQL.5432").string().size() >= 100)
    throw std::runtime_error("data directory path is too long for a Unix socket: " + dir.string());
  const std::string conninfo = conninfo_of(pgdir, role, role);
  if (answers(conninfo) && database_exists(pgdir)) return conninfo;

  FileLock lock(dir / "pg.lock");
  if (answers(conninfo) && database_exists(pgdir)) return conninfo;  // started meanwhile

  const fs::path log = dir / "pg-setup.log";
  if (access((fs::path(bin_dir) / "initdb").c_str(), X_OK) != 0)
    throw std::runtime_error(
        "PostgreSQL 15 is not installed (run scripts/setup.sh, or set DISPATCHER_DATABASE_URL)");
  if (!fs::exists(pgdir / "PG_VERSION")) {
    fs::create_directories(pgdir);
    ::chmod(pgdir.c_str(), 0700);
    if (::geteuid() == 0) hand_over(dir, pgdir);
    if (run_program({std::string(bin_dir) + "/initdb", "-D", pgdir.string(), "-U", role,
                     "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"},
                    log) != 0)
      throw std::runtime_error("initdb failed for " + pgdir.string() + "; see " + log.string());
    // Unix socket only, in pg/ itself, reachable by this user alone.
    std::ofstream conf(pgdir / "postgresql.conf", std::ios::app);
    conf << "\n# The dispatcher's embedded cluster (DESIGN.md \"Embedded default\").\n"
         << "listen_addresses = ''\n"
         << "unix_socket_directories = '" << pgdir.string() << "'\n"
         << "unix_socket_permissions = 0700\n";
    if (!conf) throw std::runtime_error("cannot write " + (pgdir / "postgresql.conf").string());
  }
  if (!answers(conninfo)) {
    if (run_program({std::string(bin_dir) + "/pg_ctl", "-D", pgdir.string(), "-l",
                     (pgdir / "server.log").string(), "-w", "-t", "60", "start"},
                    log) != 0 ||
        !answers(conninfo))
      throw std::runtime_error("the embedded PostgreSQL did not start; see " + log.string() +
                               " and " + (pgdir / "server.log").string());
  }
  create_database(pgdir);
  return conninfo;
}

EmbeddedPostgresStatus embedded_postgres_status(const fs::path& data_dir) {
  EmbeddedPostgresStatus s;
  const fs::path pgdir = fs::absolute(data_dir) / "pg";
  s.socket_dir = pgdir;
  s.conninfo = conninfo_of(pgdir, role, role);
  if (auto pid = postmaster_pid(pgdir)) {
    s.pid = *pid;
    s.running = answers(s.conninfo);
  }
  struct stat st {};
  if (::stat(pgdir.c_str(), &st) == 0)
    if (const passwd* pw = ::getpwuid(st.st_uid)) s.os_user = pw->pw_name;
  return s;
}

void stop_embedded_postgres(const fs::path& data_dir) {
  const fs::path pgdir = fs::absolute(data_dir) / "pg";
  auto pid = postmaster_pid(pgdir);
  if (!pid) return;
  ::kill(static_cast<pid_t>(*pid), SIGINT);  // "fast" shutdown: ends sessions, then checkpoints
  for (int i = 0; i < 600 && ::kill(static_cast<pid_t>(*pid), 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

}  // namespace dispatcher
