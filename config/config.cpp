#include "config/config.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

#ifndef DISPATCHER_SHARE_DIR
#define DISPATCHER_SHARE_DIR "."
#endif

namespace dispatcher::config {

namespace {

void read_identity(Map& s, SenderIdentity& id) {
  id.name = s.str("name", id.name, Map::Empty::refused);
  id.contact = s.str("contact", id.contact, Map::Empty::refused);
}

std::filesystem::path read_path(Map& s, const std::string& key,
                                const std::filesystem::path& fallback) {
  return s.str(key, fallback.string());
}

Config from_document(const Located& doc) {
  Config c;
  Errors errors(doc.file);
  const auto refused = Map::Empty::refused;
  Map top(doc.node, "", errors, "the config file must be a map of settings");
  c.data_dir = read_path(top, "data_dir", c.data_dir);
  {
    auto redis = top.map("redis");
    c.redis_url = redis.str("url", c.redis_url);
    c.key_prefix = redis.str("key_prefix", c.key_prefix, refused);
    redis.finish();
  }
  {
    auto db = top.map("database");
    c.database_url = db.str("url", c.database_url);
    db.finish();
  }
  {
    auto s = top.map("consumer");
    auto& k = c.consumer;
    k.group = s.str("group", k.group, refused);
    k.batch_size = s.integer("batch_size", k.batch_size, 1, 10000);
    k.block_ms = s.integer("block_ms", k.block_ms, 10, 60000);
    k.visibility_timeout_ms =
        s.integer("visibility_timeout_ms", k.visibility_timeout_ms, 100, 86400000);
    k.max_attempts = s.integer("max_attempts", k.max_attempts, 1, 100);
    k.retry_base_ms = s.integer("retry_base_ms", k.retry_base_ms, 1, 3600000);
    k.retry_max_ms = s.integer("retry_max_ms", k.retry_max_ms, 1, 86400000);
    k.retry_after_max_ms = s.integer("retry_after_max_ms", k.retry_after_max_ms, 0, 86400000);
    k.scheduler_interval_ms =
        s.integer("scheduler_interval_ms", k.scheduler_interval_ms, 10, 60000);
    k.idempotency_ttl_days = s.integer("idempotency_ttl_days", k.idempotency_ttl_days, 1, 3650);
    s.finish();
  }
  {
    auto s = top.map("templates");
    c.templates.dir = read_path(s, "dir", c.templates.dir);
    c.templates.strict = s.boolean("strict", c.templates.strict);
    c.templates.max_sms_segments =
        s.integer("max_sms_segments", c.templates.max_sms_segments, 1, 10);
    auto per =
        s.map("max_sms_segments_per_template", "must be a mapping of template name to count");
    for (const auto& name : per.keys())
      c.templates.max_sms_segments_per_template[name] =
          static_cast<std::size_t>(per.integer(name, 1, 10));
    per.finish();
    s.finish();
  }
  c.policy_file = read_path(top, "policy_file", c.policy_file);
  {
    auto s = top.map("operator");
    read_identity(s, c.operator_identity);
    s.finish();
  }
  {
    auto clinics = top.map(
        "clinics",
        "must be a mapping of clinic id to {name, contact, phone, address, reservation_url}");
    for (const auto& id : clinics.keys()) {
      auto s = clinics.map(id);
      SenderIdentity ident;
      read_identity(s, ident);
      ident.phone = s.str("phone", "");
      ident.address = s.str("address", "");
      ident.reservation_url = s.str("reservation_url", "");
      s.finish();
      c.clinics[id] = ident;
    }
    clinics.finish();
  }
  c.email_from = top.str("email_from", c.email_from, refused);
  c.phone_region = top.str("phone_region", c.phone_region, refused);
  if (c.phone_region.size() != 2 || !std::all_of(c.phone_region.begin(), c.phone_region.end(),
                                                 [](char ch) { return ch >= 'A' && ch <= 'Z'; }))
    top.fail("phone_region", "must be a two-letter region code in upper case, such as JP");
  {
    auto s = top.map("retention");
    c.retention.audit_days = s.integer("audit_days", c.retention.audit_days, 31, 36500);
    c.retention.consent_days = s.integer("consent_days", c.retention.consent_days, 31, 36500);
    if (c.retention.consent_days < c.retention.audit_days)
      s.fail("consent_days",
             "must be at least audit_days: a consent proof outlives the audit of "
             "the messages it allowed");
    s.finish();
  }
  {
    auto s = top.map("unsubscribe");
    c.unsubscribe.base_url = s.str("base_url", c.unsubscribe.base_url, refused);
    c.unsubscribe.mailto = s.str("mailto", c.unsubscribe.mailto, refused);
    c.unsubscribe.token_ttl_days =
        s.integer("token_ttl_days", c.unsubscribe.token_ttl_days, 1, 3650);
    s.finish();
  }
  {
    auto s = top.map("webhooks");
    auto& w = c.webhooks;
    w.poll_ms = s.integer("poll_ms", w.poll_ms, 10, 60000);
    w.retry_first_ms = s.integer("retry_first_ms", w.retry_first_ms, 1, 86400000);
    w.retry_max_ms = s.integer("retry_max_ms", w.retry_max_ms, 1, 86400000);
    w.give_up_hours = s.integer("give_up_hours", w.give_up_hours, 1, 720);
    w.timeout_ms = s.integer("timeout_ms", w.timeout_ms, 100, 120000);
    if (w.retry_max_ms < w.retry_first_ms)
      s.fail("retry_max_ms", "must be at least retry_first_ms");
    // Read with the secrets they name (dispatcher/webhook_targets.hpp).
    w.senders = {doc.file, s.value("senders")};
    if (w.senders.node.IsDefined() && !w.senders.node.IsNull() && !w.senders.node.IsMap())
      s.fail("senders", "must be a mapping of sender to {url, secret_env or secret_file}");
    s.finish();
  }
  c.secret_file = read_path(top, "secret_file", c.secret_file);
  c.log_level = top.str("log_level", c.log_level, refused);
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
  if (!levels.count(c.log_level))
    top.fail("log_level", "must be one of trace, debug, info, warn, error, off");
  // Read when the providers are built (channels/registry.hpp), which reports its own mistakes.
  c.channels = {doc.file, top.value("channels")};
  if (c.channels.node.IsDefined() && !c.channels.node.IsNull() && !c.channels.node.IsMap())
    top.fail("channels", "must be a mapping of channel to a list of providers");
  top.finish();
  errors.raise_if_any();
  return c;
}

void apply_environment(Config& c) {
  if (const char* url = std::getenv("DISPATCHER_REDIS_URL"); url && *url) c.redis_url = url;
  if (const char* url = std::getenv("DISPATCHER_DATABASE_URL"); url && *url) c.database_url = url;
  if (const char* dir = std::getenv("DISPATCHER_DATA_DIR"); dir && *dir) c.data_dir = dir;
}

}  // namespace

Config load_string(const std::string& yaml, const std::string& name) {
  Config c = from_document(load_text(yaml, name));
  apply_environment(c);
  return c;
}

Config load(const std::filesystem::path& file) {
  std::filesystem::path path = file;
  if (path.empty()) {
    if (std::filesystem::exists("config/dispatcher.yaml")) path = "config/dispatcher.yaml";
  }
  if (path.empty()) {
    Config c;
    apply_environment(c);
    return c;
  }
  Config c = from_document(load_file(path));
  apply_environment(c);
  c.source = path;
  return c;
}

std::filesystem::path resolve_shipped(const std::filesystem::path& p) {
  if (p.is_absolute() || std::filesystem::exists(p)) return p;
  auto shipped = std::filesystem::path(DISPATCHER_SHARE_DIR) / p;
  return std::filesystem::exists(shipped) ? shipped : p;
}

}  // namespace dispatcher::config
