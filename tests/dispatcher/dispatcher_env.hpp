// An isolated dispatcher world for a test: a temp dir as working and data directory, a
// private redis-server, a database of its own, and a config tuned for quick idling (short
// blocks and timeouts).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/postgres_server.hpp"
#include "support/redis_server.hpp"

namespace testing_support {

class DispatcherEnv {
 public:
  explicit DispatcherEnv(const std::string& extra_config = "");

  const fs::path& dir() const { return tmp_.path(); }
  fs::path data_dir() const { return tmp_.path() / "var"; }
  fs::path outbox() const { return data_dir() / "outbox"; }
  std::map<std::string, std::string> env() const;

  Result run(const std::vector<std::string>& args, const std::string& stdin_text = "");
  Process spawn(const std::vector<std::string>& args);
  Result enqueue(const std::vector<nlohmann::json>& messages);
  // Writes each line to the stream as it is, as a producer other than `enqueue` may (so a line
  // enqueue would refuse reaches the consumer).
  void xadd_raw(const std::vector<std::string>& lines);
  Result put_subscribers(const std::vector<nlohmann::json>& subscribers);

  dispatcher::redis::SyncClient redis() const { return redis_.client(); }
  const TestDatabase& database() const { return db_; }
  std::vector<nlohmann::json> history(const std::string& subject);
  std::vector<nlohmann::json> dead_letters();
  std::vector<nlohmann::json> sms_lines();
  std::size_t pending();  // entries read but not acknowledged

 private:
  TempDir tmp_;
  RedisServer redis_;
  TestDatabase db_;
  int files_ = 0;
};

// A reminder a clinic sends to one of its non-member patients by SMS.
nlohmann::json sms_reminder(const std::string& id, int patient);

}  // namespace testing_support
