// Test fixtures: a private redis-server on a Unix socket in a temporary directory, and a
// way to run the dispatcher binary against it and read what it printed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "store/redis/sync_client.hpp"

namespace testing_support {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class RedisServer {
 public:
  explicit RedisServer(
      const fs::path& dir);  // starts it; throws when it does not answer within 5 s
  ~RedisServer();
  std::string url() const { return "unix://" + socket_.string(); }
  dispatcher::redis::SyncClient client() const;

 private:
  fs::path socket_;
  pid_t pid_ = -1;
};

struct Result {
  int exit_code = -1;
  std::string out, err;
};

struct Process {
  pid_t pid = -1;
  fs::path out_file, err_file;
  Result wait();  // waits for exit, reads its output
};

// Runs build/bin/dispatcher with args in `cwd`, stdin from `stdin_file` (or /dev/null),
// with DISPATCHER_REDIS_URL and DISPATCHER_DATA_DIR set from `env`.
Process spawn_dispatcher(const std::vector<std::string>& args, const fs::path& cwd,
                         const std::map<std::string, std::string>& env,
                         const fs::path& stdin_file = {});
Result run_dispatcher(const std::vector<std::string>& args, const fs::path& cwd,
                      const std::map<std::string, std::string>& env,
                      const fs::path& stdin_file = {});

// Polls `ready` every 20 ms until it holds or `limit` passes; returns whether it held.
bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds limit);

std::vector<std::string> read_lines(const fs::path& file);
void write_file(const fs::path& file, const std::string& text);

}  // namespace testing_support
