#include "dispatcher/runtime.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "codec/hex.hpp"
#include "codec/hmac.hpp"
#include "codec/phone.hpp"
#include "config/private_files.hpp"
#include "model/unsubscribe_token.hpp"
#include "store/embedded_redis.hpp"
#include "store/pg/embedded_postgres.hpp"
#include "store/pg/migrations.hpp"
#include "store/redis/sync_client.hpp"

namespace dispatcher {

namespace fs = std::filesystem;

std::string load_secret(const config::Config& c) {
  fs::path file = c.secret_file.empty() ? c.data_dir / "secret" : c.secret_file;
  auto read = [&]() -> std::string {
    std::ifstream in(file);
    std::string s;
    in >> s;
    return s;
  };
  if (fs::exists(file)) {
    std::string s = read();
    if (s.size() < 32)
      throw std::runtime_error("secret file " + file.string() + " holds fewer than 32 characters");
    return s;
  }
  if (!c.secret_file.empty())
    throw std::runtime_error("secret_file " + file.string() + " does not exist");
  config::create_private_directories(file.parent_path());  // the data dir: owner-only
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1)
    throw std::runtime_error("cannot draw random bytes for the secret");
  const std::string hex = to_hex(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  // Write beside, then link: two verbs racing both end up with the winner's secret.
  fs::path tmp = file;
  tmp += "." + std::to_string(::getpid());
  {
    int fd = ::open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + tmp.string());
    (void)!::write(fd, hex.data(), hex.size());
    ::close(fd);
  }
  ::link(tmp.c_str(), file.c_str());
  ::unlink(tmp.c_str());
  return read();
}

std::string Runtime::database_url() const {
  return config.database_url.empty() ? ensure_embedded_postgres(config.data_dir)
                                     : config.database_url;
}

Runtime::Upkeep Runtime::upkeep(pg::Connection& c) const {
  Upkeep u;
  const TimePoint now = system_now();
  u.migrations = pg::migrate(c, now);
  u.retention = apply_retention(c, now, config.retention.audit_days, config.retention.consent_days);
  // Redis may be down at start-up (serve answers /healthz 503 meanwhile): the move waits for
  // the next start-up, which finds the streams where they were.
  try {
    auto r = redis::SyncClient::connect(redis_endpoint());
    u.imported = import_redis_history(c, r, config.key_prefix);
    // A Redis that lost the hot state is rebuilt from the log before anything is sent.
    u.hot_state = ensure_hot_state(c, r, keys);
    if (u.hot_state.rebuilt)
      spdlog::warn("redis had lost its hot state (no generation {}): rebuilt, {} commands replayed",
                   u.hot_state.generation, u.hot_state.commands);
  } catch (const redis::Error& e) {
    spdlog::warn("moving an older audit from Redis waits for the next start-up: {}", e.what());
  }
  return u;
}

pg::Connection Runtime::database(bool migrate) const {
  auto c = pg::Connection::connect(database_url());
  if (migrate) upkeep(c);
  return c;
}

redis::Endpoint Runtime::redis_endpoint() const {
  std::string url =
      config.redis_url.empty() ? ensure_embedded_redis(config.data_dir) : config.redis_url;
  auto e = redis::parse_endpoint(url);
  if (!e)
    throw std::runtime_error("redis url is not redis://host:port[/db] or unix:///path: " + url);
  return *e;
}

MessageVocabulary Runtime::vocabulary() const {
  MessageVocabulary v;
  v.phone_region = config.phone_region;
  if (policy) {
    const policy::Policy* p = &*policy;
    v.known_purpose = [p](std::string_view s) { return p->known_purpose(s); };
    v.known_category = [p](std::string_view s) { return p->known_category(s); };
  }
  if (catalog) {
    const templates::Catalog* c = &*catalog;
    v.known_template = [c](std::string_view s) { return c->contains(s); };
  }
  return v;
}

templates::LoadOptions Runtime::template_options() const {
  templates::LoadOptions o;
  if (policy) {
    const policy::Policy* p = &*policy;
    o.is_marketing = [p](std::string_view s) { return p->is_marketing(s); };
    o.known_purpose = [p](std::string_view s) { return p->known_purpose(s); };
    o.known_category = [p](std::string_view s) { return p->known_category(s); };
  }
  o.strict = config.templates.strict;
  o.default_max_sms_segments = static_cast<std::size_t>(config.templates.max_sms_segments);
  o.max_sms_segments = config.templates.max_sms_segments_per_template;
  return o;
}

const config::SenderIdentity* Runtime::clinic_of(std::string_view sender) const {
  if (sender.rfind("clinic:", 0) != 0) return nullptr;
  auto it = config.clinics.find(std::string(sender.substr(7)));
  return it == config.clinics.end() ? nullptr : &it->second;
}

const config::SenderIdentity& Runtime::identity_of(std::string_view sender) const {
  const config::SenderIdentity* clinic = clinic_of(sender);
  return clinic ? *clinic : config.operator_identity;
}

channels::RetryPolicy Runtime::retry_policy() const {
  channels::RetryPolicy p;
  p.base = std::chrono::milliseconds(config.consumer.retry_base_ms);
  p.cap = std::chrono::milliseconds(config.consumer.retry_max_ms);
  p.max_retry_after = std::chrono::milliseconds(config.consumer.retry_after_max_ms);
  p.max_attempts = static_cast<unsigned>(config.consumer.max_attempts);
  return p;
}

std::vector<std::string> token_scope_errors(const policy::Policy& p) {
  std::vector<std::string> errors;
  for (std::string_view purpose : p.purposes())
    if (p.is_marketing(purpose) && !token_scope_known("purpose:" + std::string(purpose)))
      errors.push_back("marketing purpose " + std::string(purpose) +
                       " has no unsubscribe token scope (" + kTokenScopeHint + ")");
  return errors;
}

std::optional<std::string> phone_region_error(const config::Config& c) {
  // The form was checked with the rest of the file; whether the code names a region with phone
  // numbers is libphonenumber's to say, and config/ sits below codec/.
  if (known_phone_region(c.phone_region)) return std::nullopt;
  return (c.source.empty() ? std::string() : c.source.string() + ": ") +
         "phone_region: " + c.phone_region + " is not a region code libphonenumber knows";
}

Runtime open_runtime(const fs::path& config_file, Needs needs) {
  Runtime rt;
  rt.config = config::load(config_file);
  if (auto e = phone_region_error(rt.config)) throw std::runtime_error(*e);
  rt.keys.prefix = rt.config.key_prefix;
  rt.secret = load_secret(rt.config);
  rt.webhooks = read_webhook_targets(rt.config.webhooks.senders);
  if (needs.policy || needs.templates) {
    rt.policy = policy::Policy::load(config::resolve_shipped(rt.config.policy_file));
    for (const auto& e : token_scope_errors(*rt.policy)) throw std::runtime_error("policy: " + e);
  }
  if (needs.templates)
    rt.catalog = templates::Catalog::load(config::resolve_shipped(rt.config.templates.dir),
                                          rt.template_options());
  return rt;
}

}  // namespace dispatcher
