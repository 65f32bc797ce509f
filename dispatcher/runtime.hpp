// What every verb opens: config, the secret, Redis's address, the policy and the templates.
// Start-up work: failures are exceptions with one clear line (the verbs print them).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "channels/retry.hpp"
#include "config/config.hpp"
#include "dispatcher/webhook_targets.hpp"
#include "model/keys.hpp"
#include "model/message.hpp"
#include "policy/policy.hpp"
#include "store/history_import.hpp"
#include "store/hot_state.hpp"
#include "store/pg/connection.hpp"
#include "store/redis/endpoint.hpp"
#include "store/retention.hpp"
#include "templates/catalog.hpp"

namespace dispatcher {

struct Runtime {
  config::Config config;
  Keys keys;
  std::string secret;  // keys address hashes and unsubscribe tokens
  std::optional<policy::Policy> policy;
  std::optional<templates::Catalog> catalog;
  WebhookTargets webhooks;  // senders whose messages' state changes are POSTed to them

  // The configured Redis, or the embedded one (started on first use).
  redis::Endpoint redis_endpoint() const;
  // The configured database, or the embedded cluster (started on first use): a libpq string.
  std::string database_url() const;
  // A blocking connection to it, after upkeep() (start-up work: throws). `check` passes
  // migrate = false and reports what is missing instead.
  pg::Connection database(bool migrate = true) const;
  // What every start-up does to the database: the missing migrations, the retention, and the
  // one-time move of an older dispatcher's audit from Redis (store/history_import.hpp).
  struct Upkeep {
    int migrations = 0;
    RetentionDone retention;
    HistoryImported imported;
    HotStateCheck hot_state;
  };
  Upkeep upkeep(pg::Connection& c) const;
  MessageVocabulary vocabulary() const;
  templates::LoadOptions template_options() const;
  // The one retry policy (channels/retry.hpp) with the consumer's configured numbers.
  channels::RetryPolicy retry_policy() const;
  // How a sender signs its messages (the law's mandatory display items).
  const config::SenderIdentity& identity_of(std::string_view sender) const;
  // The clinic directory's entry for a `clinic:<id>` sender; null for any other sender.
  const config::SenderIdentity* clinic_of(std::string_view sender) const;
};

struct Needs {
  bool policy = true;
  bool templates = true;
};

Runtime open_runtime(const std::filesystem::path& config_file, Needs needs = {});

// Why config's phone_region names no region libphonenumber has numbers for ("<file>:
// phone_region: XX is not …"), or nullopt. open_runtime refuses such a config; `check` lists it.
std::optional<std::string> phone_region_error(const config::Config& c);

// Loads or creates the secret (32 random bytes, hex) named by config or under the data dir.
std::string load_secret(const config::Config& c);

// One line per marketing purpose of `p` that no unsubscribe token can name. Runtime and `check`
// refuse such a policy, so sending never meets a purpose without one.
std::vector<std::string> token_scope_errors(const policy::Policy& p);

}  // namespace dispatcher
