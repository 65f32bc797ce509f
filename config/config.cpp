#include "config/config.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#ifndef DISPATCHER_SHARE_DIR
#define DISPATCHER_SHARE_DIR "."
#endif

namespace dispatcher::config {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& e : v) s += (s.empty() ? "" : "; ") + e;
  return s;
}

// Walks one mapping, remembering which keys were read so the rest can be reported.
class Section {
 public:
  Section(const YAML::Node& node, std::string path, std::vector<std::string>& errors,
          std::string file)
      : node_(node), path_(std::move(path)), errors_(errors), file_(std::move(file)) {
    if (node_ && !node_.IsNull() && !node_.IsMap())
      error(node_, path_.empty() ? "<top>" : path_, "must be a mapping");
  }

  ~Section() {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& kv : node_) {
      auto key = kv.first.as<std::string>();
      if (!seen_.count(key)) error(kv.first, full(key), "unknown key");
    }
  }

  YAML::Node get(const std::string& key) {
    seen_.insert(key);
    if (!node_ || !node_.IsMap()) return YAML::Node(YAML::NodeType::Null);
    // Searched rather than indexed: yaml-cpp's operator[] inserts (or yields an invalid node).
    for (const auto& kv : node_)
      if (kv.first.as<std::string>() == key) return kv.second;
    return YAML::Node(YAML::NodeType::Null);
  }

  void str(const std::string& key, std::string& out, bool allow_empty = true) {
    auto n = get(key);
    if (!n || n.IsNull()) return;
    if (!n.IsScalar()) return error(n, full(key), "must be a string");
    auto v = n.as<std::string>();
    if (!allow_empty && v.empty()) return error(n, full(key), "must not be empty");
    out = v;
  }

  void path(const std::string& key, std::filesystem::path& out) {
    std::string s = out.string();
    str(key, s);
    out = s;
  }

  void integer(const std::string& key, int& out, int lo, int hi) {
    auto n = get(key);
    if (!n || n.IsNull()) return;
    try {
      long long v = n.as<long long>();
      if (v < lo || v > hi)
        return error(n, full(key), fmt::format("must be between {} and {}", lo, hi));
      out = static_cast<int>(v);
    } catch (const YAML::Exception&) {
      error(n, full(key), "must be an integer");
    }
  }

  void boolean(const std::string& key, bool& out) {
    auto n = get(key);
    if (!n || n.IsNull()) return;
    try {
      out = n.as<bool>();
    } catch (const YAML::Exception&) {
      error(n, full(key), "must be true or false");
    }
  }

  Section sub(const std::string& key) { return Section(get(key), full(key), errors_, file_); }

  void error(const YAML::Node& at, const std::string& key, const std::string& what) {
    auto m = at.Mark();
    errors_.push_back(
        m.is_null() ? fmt::format("{}: {}: {}", file_, key, what)
                    : fmt::format("{}:{}:{}: {}: {}", file_, m.line + 1, m.column + 1, key, what));
  }

  std::string full(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

 private:
  YAML::Node node_;
  std::string path_;
  std::vector<std::string>& errors_;
  std::string file_;
  std::set<std::string> seen_;
};

void read_identity(Section& s, SenderIdentity& id) {
  s.str("name", id.name, false);
  s.str("contact", id.contact, false);
}

Config from_node(const YAML::Node& root, const std::string& name) {
  Config c;
  std::vector<std::string> errors;
  {
    Section top(root, "", errors, name);
    top.path("data_dir", c.data_dir);
    {
      auto redis = top.sub("redis");
      redis.str("url", c.redis_url);
      redis.str("key_prefix", c.key_prefix, false);
    }
    {
      auto s = top.sub("consumer");
      s.str("group", c.consumer.group, false);
      s.integer("batch_size", c.consumer.batch_size, 1, 10000);
      s.integer("block_ms", c.consumer.block_ms, 10, 60000);
      s.integer("visibility_timeout_ms", c.consumer.visibility_timeout_ms, 100, 86400000);
      s.integer("max_attempts", c.consumer.max_attempts, 1, 100);
      s.integer("retry_base_ms", c.consumer.retry_base_ms, 1, 3600000);
      s.integer("retry_max_ms", c.consumer.retry_max_ms, 1, 86400000);
      s.integer("retry_after_max_ms", c.consumer.retry_after_max_ms, 0, 86400000);
      s.integer("scheduler_interval_ms", c.consumer.scheduler_interval_ms, 10, 60000);
      s.integer("idempotency_ttl_days", c.consumer.idempotency_ttl_days, 1, 3650);
    }
    {
      auto s = top.sub("templates");
      s.path("dir", c.templates.dir);
      s.boolean("strict", c.templates.strict);
      s.integer("max_sms_segments", c.templates.max_sms_segments, 1, 10);
      auto per = s.get("max_sms_segments_per_template");
      if (per && per.IsMap()) {
        for (const auto& kv : per) {
          int v = 0;
          try {
            v = kv.second.as<int>();
          } catch (const YAML::Exception&) {
            v = 0;
          }
          if (v < 1 || v > 10)
            s.error(kv.second,
                    "templates.max_sms_segments_per_template." + kv.first.as<std::string>(),
                    "must be between 1 and 10");
          else
            c.templates.max_sms_segments_per_template[kv.first.as<std::string>()] =
                static_cast<std::size_t>(v);
        }
      } else if (per && !per.IsNull()) {
        s.error(per, "templates.max_sms_segments_per_template",
                "must be a mapping of template name to count");
      }
    }
    top.path("policy_file", c.policy_file);
    {
      auto s = top.sub("operator");
      read_identity(s, c.operator_identity);
    }
    auto clinics = top.get("clinics");
    if (clinics && clinics.IsMap()) {
      for (const auto& kv : clinics) {
        auto id = kv.first.as<std::string>();
        Section s(kv.second, "clinics." + id, errors, name);
        SenderIdentity ident;
        read_identity(s, ident);
        c.clinics[id] = ident;
      }
    } else if (clinics && !clinics.IsNull()) {
      top.error(clinics, "clinics", "must be a mapping of clinic id to {name, contact}");
    }
    top.str("email_from", c.email_from, false);
    {
      auto s = top.sub("unsubscribe");
      s.str("base_url", c.unsubscribe.base_url, false);
      s.str("mailto", c.unsubscribe.mailto, false);
      s.integer("token_ttl_days", c.unsubscribe.token_ttl_days, 1, 3650);
    }
    top.path("secret_file", c.secret_file);
    top.str("log_level", c.log_level, false);
    static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
    if (!levels.count(c.log_level))
      top.error(top.get("log_level"), "log_level",
                "must be one of trace, debug, info, warn, error, off");
    c.channels = top.get("channels");
    if (c.channels && !c.channels.IsNull() && !c.channels.IsMap())
      top.error(c.channels, "channels", "must be a mapping of channel to a list of providers");
  }
  if (!errors.empty()) throw ConfigError(errors);
  return c;
}

void apply_environment(Config& c) {
  if (const char* url = std::getenv("DISPATCHER_REDIS_URL"); url && *url) c.redis_url = url;
  if (const char* dir = std::getenv("DISPATCHER_DATA_DIR"); dir && *dir) c.data_dir = dir;
}

}  // namespace

ConfigError::ConfigError(std::vector<std::string> errors)
    : std::runtime_error(join(errors)), errors_(std::move(errors)) {}

Config load_string(const std::string& yaml, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(
        {fmt::format("{}:{}:{}: {}", name, e.mark.line + 1, e.mark.column + 1, e.msg)});
  }
  Config c = from_node(root, name);
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
  std::ifstream in(path);
  if (!in) throw ConfigError({path.string() + ": cannot be read"});
  std::stringstream ss;
  ss << in.rdbuf();
  Config c = load_string(ss.str(), path.string());
  c.source = path;
  return c;
}

std::filesystem::path resolve_shipped(const std::filesystem::path& p) {
  if (p.is_absolute() || std::filesystem::exists(p)) return p;
  auto shipped = std::filesystem::path(DISPATCHER_SHARE_DIR) / p;
  return std::filesystem::exists(shipped) ? shipped : p;
}

}  // namespace dispatcher::config
