#include "support/redis_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace testing_support {

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "dsp-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {

pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env,
            const fs::path& cwd, const fs::path& in, const fs::path& out, const fs::path& err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, in.empty() ? "/dev/null" : in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.empty() ? "/dev/null" : out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.empty() ? "/dev/null" : err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv, envp;
  std::vector<std::string> a = args, e = env;
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : e) envp.push_back(s.data());
  envp.push_back(nullptr);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  pid_t pid = -1;
  int rc = posix_spawn(&pid, a[0].c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + a[0]);
  return pid;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> base_env() {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string s(*e);
    if (s.rfind("DISPATCHER_", 0) == 0) continue;
    env.push_back(s);
  }
  return env;
}

}  // namespace

RedisServer::RedisServer(const fs::path& dir) {
  socket_ = dir / "redis.sock";
  fs::create_directories(dir / "redis-data");
  pid_ = spawn(
      {"/usr/bin/redis-server", "--port", "0", "--unixsocket", socket_.string(), "--unixsocketperm",
       "700", "--save", "", "--appendonly", "no", "--dir", (dir / "redis-data").string()},
      base_env(), {}, {}, dir / "redis.out", dir / "redis.err");
  bool up = wait_until(
      [&] {
        try {
          return client().run(dispatcher::redis::cmd("PING")).str == "PONG";
        } catch (const std::exception&) {
          return false;
        }
      },
      std::chrono::seconds(5));
  if (!up) throw std::runtime_error("redis-server did not answer on " + socket_.string());
}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

dispatcher::redis::SyncClient RedisServer::client() const {
  dispatcher::redis::Endpoint e;
  e.socket_path = socket_.string();
  return dispatcher::redis::SyncClient::connect(e);
}

Result Process::wait() {
  Result r;
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out_file);
  r.err = slurp(err_file);
  return r;
}

Process spawn_dispatcher(const std::vector<std::string>& args, const fs::path& cwd,
                         const std::map<std::string, std::string>& env,
                         const fs::path& stdin_file) {
  static std::atomic<int> counter{0};
  const int n = counter++;
  Process p;
  p.out_file = cwd / ("out-" + std::to_string(n) + ".txt");
  p.err_file = cwd / ("err-" + std::to_string(n) + ".txt");
  std::vector<std::string> a{DISPATCHER_BINARY};
  a.insert(a.end(), args.begin(), args.end());
  auto e = base_env();
  for (const auto& [k, v] : env) e.push_back(k + "=" + v);
  p.pid = spawn(a, e, cwd, stdin_file, p.out_file, p.err_file);
  return p;
}

Result run_dispatcher(const std::vector<std::string>& args, const fs::path& cwd,
                      const std::map<std::string, std::string>& env, const fs::path& stdin_file) {
  return spawn_dispatcher(args, cwd, env, stdin_file).wait();
}

bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ready();
}

std::vector<std::string> read_lines(const fs::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.push_back(l);
  return lines;
}

void write_file(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
}

}  // namespace testing_support
