#include "store/embedded_redis.hpp"

#include <fcntl.h>
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

#include "config/private_files.hpp"
#include "store/file_lock.hpp"
#include "store/redis/sync_client.hpp"

extern char** environ;

namespace dispatcher {

namespace fs = std::filesystem;

namespace {

bool answers(const fs::path& sock) {
  if (!fs::exists(sock)) return false;
  try {
    redis::Endpoint e;
    e.socket_path = sock.string();
    auto c = redis::SyncClient::connect(e);
    return c.run(redis::cmd("PING")).str == "PONG";
  } catch (const std::exception&) {
    return false;
  }
}

std::string find_redis_server() {
  for (const char* p : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"})
    if (access(p, X_OK) == 0) return p;
  throw std::runtime_error(
      "redis-server is not installed (run scripts/setup.sh, or set DISPATCHER_REDIS_URL)");
}

}  // namespace

std::string ensure_embedded_redis(const fs::path& data_dir) {
  // The AOF holds addresses: the data directory and redis/ are owner-only (0700).
  try {
    config::create_private_directories(data_dir / "redis");
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot create data directory " + data_dir.string() + ": " + e.what());
  }
  const fs::path dir = fs::absolute(data_dir);
  const fs::path sock = dir / "redis.sock";
  if (sock.string().size() >= 100)
    throw std::runtime_error("data directory path is too long for a Unix socket: " + dir.string());
  if (answers(sock)) return "unix://" + sock.string();

  FileLock lock(dir / "redis.lock");
  if (answers(sock)) return "unix://" + sock.string();  // another verb started it meanwhile

  const std::string server = find_redis_server();
  std::vector<std::string> args{server,
                                "--port",
                                "0",
                                "--unixsocket",
                                sock.string(),
                                "--unixsocketperm",
                                "700",
                                "--dir",
                                (dir / "redis").string(),
                                "--appendonly",
                                "yes",
                                "--appendfsync",
                                "everysec",
                                "--save",
                                "",
                                "--daemonize",
                                "yes",
                                "--pidfile",
                                (dir / "redis.pid").string(),
                                "--logfile",
                                (dir / "redis.log").string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  // redis-server creates its AOF, log and pid file with the umask it inherits: 077 makes them
  // 0600 (and appendonlydir/ 0700). posix_spawn has no umask attribute, so it is set around the
  // spawn; this runs at start-up, before any other thread creates files.
  const mode_t old_umask = ::umask(077);
  const int spawned = posix_spawn(&pid, server.c_str(), nullptr, nullptr, argv.data(), environ);
  ::umask(old_umask);
  if (spawned != 0) throw std::runtime_error("cannot start " + server);
  int status = 0;
  waitpid(pid, &status, 0);  // --daemonize: the parent exits once the server forked
  // Wait, bounded, for the socket to answer.
  for (int i = 0; i < 100; ++i) {
    if (answers(sock)) return "unix://" + sock.string();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("embedded redis-server did not start; see " +
                           (dir / "redis.log").string());
}

void stop_embedded_redis(const fs::path& data_dir) {
  std::ifstream in(data_dir / "redis.pid");
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0 || ::kill(pid, SIGTERM) != 0) return;
  for (int i = 0; i < 200 && ::kill(pid, 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

EmbeddedRedisStatus embedded_redis_status(const fs::path& data_dir) {
  EmbeddedRedisStatus s;
  s.socket = fs::absolute(data_dir) / "redis.sock";
  std::ifstream in(data_dir / "redis.pid");
  if (long pid = 0; in >> pid && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0) s.pid = pid;
  s.running = answers(s.socket);
  return s;
}

}  // namespace dispatcher
