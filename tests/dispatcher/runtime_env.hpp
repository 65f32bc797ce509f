// A Runtime for in-process tests of the pipeline's stages: a temp dir as data directory, a
// private redis-server, and a config file naming that server and the shipped policy and
// templates in the source tree (by absolute path: a relative one would be looked up in the
// working directory first, and a build tree has a templates/ folder of its own).
#pragma once

#include <cstdlib>
#include <string>

#include "dispatcher/runtime.hpp"
#include "support/postgres_server.hpp"
#include "support/redis_server.hpp"

namespace testing_support {

class RuntimeEnv {
 public:
  // `consumer` lines go under `consumer:` (indented by two spaces), `extra` at the top level.
  explicit RuntimeEnv(const std::string& consumer = "", const std::string& extra = "")
      : redis_(tmp_.path()), db_(), rt_(dispatcher::open_runtime(write_config(consumer, extra))) {}

  const fs::path& dir() const { return tmp_.path(); }
  fs::path config_file() const { return tmp_.path() / "dispatcher.yaml"; }
  fs::path data_dir() const { return tmp_.path() / "var"; }
  fs::path outbox() const { return data_dir() / "outbox"; }
  const dispatcher::Runtime& runtime() const { return rt_; }
  dispatcher::redis::SyncClient redis() const { return redis_.client(); }
  const TestDatabase& database() const { return db_; }

 private:
  fs::path write_config(const std::string& consumer, const std::string& extra) const {
    // The config file is the whole truth here: the environment would override it.
    ::unsetenv("DISPATCHER_REDIS_URL");
    ::unsetenv("DISPATCHER_DATABASE_URL");
    ::unsetenv("DISPATCHER_DATA_DIR");
    const std::string source = DISPATCHER_SOURCE_DIR;
    write_file(config_file(), "data_dir: " + data_dir().string() +
                                  "\nredis:\n  url: " + redis_.url() + "\ndatabase:\n  url: \"" +
                                  db_.url() + "\"\npolicy_file: " + source +
                                  "/config/policy.yaml\ntemplates:\n  dir: " + source +
                                  "/templates\nconsumer:\n  block_ms: 100\n"
                                  "  visibility_timeout_ms: 1000\n  scheduler_interval_ms: 50\n"
                                  "  retry_base_ms: 10\n  retry_max_ms: 50\n" +
                                  consumer + extra);
    return config_file();
  }

  TempDir tmp_;
  RedisServer redis_;
  TestDatabase db_;
  dispatcher::Runtime rt_;
};

}  // namespace testing_support
