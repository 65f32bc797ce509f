// dispatcher.yaml: every setting with its documented default, validated strictly.
//
// Unknown keys and bad values are errors that name the place and the key
// ("dispatcher.yaml:3:15: consumer.batch_size: must be between 1 and 10000"), all of them at
// once. Loading is start-up work, so errors are exceptions (LoadError, config/yaml_reader.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "config/vocabulary.hpp"
#include "config/yaml_reader.hpp"

namespace dispatcher::config {

struct SenderIdentity {
  std::string name;     // shown as the sender (the law's mandatory display item)
  std::string contact;  // a contact address or phone shown in marketing messages
  // A clinic's directory entry (`clinics:` only): what its messages leave out is filled from
  // here (clinic_name, clinic_phone, clinic_address, reservation_url); empty when not given.
  std::string phone, address, reservation_url;
};

struct Config {
  std::filesystem::path source;  // the file read, empty for built-in defaults

  std::filesystem::path data_dir = "var";
  std::string redis_url;  // empty: the embedded redis-server under data_dir
  // A libpq connection string or URI; empty: the embedded PostgreSQL cluster under data_dir.
  std::string database_url;
  std::string key_prefix = "dsp:";

  struct Consumer {
    std::string group = "dispatchers";
    int batch_size = 256;
    int block_ms = 1000;
    int visibility_timeout_ms = 30000;
    int max_attempts = 5;
    int retry_base_ms = 1000;
    int retry_max_ms = 300000;
    int retry_after_max_ms = 3600000;
    int scheduler_interval_ms = 500;
    int idempotency_ttl_days = 30;
  } consumer;

  struct Templates {
    std::filesystem::path dir = "templates";
    bool strict = true;
    int max_sms_segments = 3;
    std::map<std::string, std::size_t> max_sms_segments_per_template;
  } templates;

  std::filesystem::path policy_file = "config/policy.yaml";

  SenderIdentity operator_identity{"EPARK歯科", "support@notify.example.jp", {}, {}, {}};
  std::map<std::string, SenderIdentity> clinics;  // clinic id → how it signs its messages
  std::string email_from = "no-reply@notify.example.jp";

  // The region (ISO 3166, upper case) in which a phone number written without "+<country>" is
  // read: "090-1234-5678" is +819012345678 in JP. Whether libphonenumber knows the code is
  // checked when the runtime opens (config/ does not link it).
  std::string phone_region{default_phone_region};

  struct Unsubscribe {
    std::string base_url = "https://notify.example.jp/u/";
    std::string mailto = "unsubscribe@notify.example.jp";
    int token_ttl_days = 60;
  } unsubscribe;

  // How long the system of record keeps what (whole months of the audit are dropped at once).
  struct Retention {
    int audit_days = 1095;  // decisions and subject events: three years of 開示
    // Consent proofs outlive the audit rows of the messages they allowed (checked at load).
    int consent_days = 3650;
  } retention;

  // Sender webhooks (DESIGN.md "The HTTP surface"): each state change of a sender's messages is
  // POSTed, signed, to its URL. `senders` (sender → {url, secret_env | secret_file}) is read
  // where secrets are read (dispatcher/webhook_targets.hpp); the rest is how `run` delivers.
  struct Webhooks {
    int poll_ms = 1000;          // how often due events are looked for
    int retry_first_ms = 30000;  // the first retry after a failed delivery; doubling …
    int retry_max_ms = 3600000;  // … up to this
    int give_up_hours = 24;      // an event not accepted by then is dropped, logged as such
    int timeout_ms = 10000;      // one delivery attempt
    Located senders;
  } webhooks;

  std::filesystem::path secret_file;  // empty: <data_dir>/secret, created on first use
  std::string log_level = "info";

  // Providers per channel, with the file for their errors; null: the outbox for every channel.
  Located channels;
};

// Reads `file` (must exist) or, when `file` is empty, config/dispatcher.yaml if present,
// else the built-in defaults; then applies DISPATCHER_REDIS_URL and DISPATCHER_DATA_DIR.
// Throws LoadError with every mistake.
Config load(const std::filesystem::path& file);
Config load_string(const std::string& yaml, const std::string& name = "<config>");

// Resolves a relative path from config against the working directory, falling back to the
// project's own tree (where the shipped templates and policy live).
std::filesystem::path resolve_shipped(const std::filesystem::path& p);

}  // namespace dispatcher::config
