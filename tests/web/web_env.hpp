// A dispatcher world for HTTP tests: temp dir, private redis-server, an API keys file, and
// `dispatcher serve --listen 127.0.0.1:0` running as a child process; a blocking HTTP client.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/vocabulary.hpp"
#include "support/postgres_server.hpp"
#include "support/redis_server.hpp"

namespace web_testing {

namespace fs = std::filesystem;
using testing_support::Process;
using testing_support::Result;

struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

class WebEnv {
 public:
  // Keys: operator_key, clinic_key (clinic:c-102), other_clinic_key (clinic:c-200).
  // `extra_config` is appended to the env's dispatcher.yaml (e.g. a channels: section).
  explicit WebEnv(const std::vector<std::string>& serve_args = {},
                  const std::map<std::string, std::string>& extra_env = {},
                  const std::string& extra_config = "");
  ~WebEnv();

  const fs::path& dir() const { return tmp_.path(); }
  fs::path data_dir() const { return tmp_.path() / "var"; }
  std::map<std::string, std::string> env() const;
  int port() const { return port_; }

  HttpResult request(const std::string& method, const std::string& target,
                     const std::string& body = "",
                     const std::map<std::string, std::string>& headers = {});
  // Writes `bytes` as they are and returns the status line's code and the rest (for broken
  // requests).
  std::string raw(const std::string& bytes);
  HttpResult get(const std::string& target, const std::string& key = "") {
    return request("GET", target, "", auth(key));
  }
  HttpResult post_json(const std::string& target, const nlohmann::json& body,
                       const std::string& key = "") {
    auto h = auth(key);
    h["Content-Type"] = "application/json";
    return request("POST", target, body.dump(), h);
  }
  HttpResult post_form(const std::string& target, const std::string& body,
                       std::map<std::string, std::string> headers = {}) {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    return request("POST", target, body, headers);
  }
  static std::map<std::string, std::string> auth(const std::string& key) {
    if (key.empty()) return {};
    return {{"Authorization", "Bearer " + key}};
  }

  Result run(const std::vector<std::string>& args, const std::string& stdin_text = "");
  dispatcher::redis::SyncClient redis() const { return redis_.client(); }
  const testing_support::TestDatabase& database() const { return db_; }
  // Every key with its DUMP: equal snapshots mean nothing changed.
  std::map<std::string, std::string> snapshot() const;
  std::string secret() const;  // the env's secret (created by the first verb that needs it)
  // A signed unsubscribe token for `subject`, with its reference registered as the pipeline would;
  // `channel` is the one the link was sent on (none: a link that may grant no consent).
  std::string token_for(const std::string& subject, const std::string& scope,
                        long long expires_in_s = 3600,
                        std::optional<dispatcher::Channel> channel = std::nullopt);
  std::string state_field(const std::string& subject, const std::string& field) const;
  // `dispatcher explain` of one message: its decision line.
  nlohmann::json explain(const nlohmann::json& message);

  Result stop_server();  // SIGTERM and wait

  std::string operator_key = "dsk_operator_test_key_0001";
  std::string clinic_key = "dsk_clinic_c102_test_key_0002";
  std::string other_clinic_key = "dsk_clinic_c200_test_key_0003";

 private:
  testing_support::TempDir tmp_;
  testing_support::RedisServer redis_;
  testing_support::TestDatabase db_;
  Process server_;
  bool running_ = false;
  int port_ = 0;
  int files_ = 0;
};

}  // namespace web_testing
