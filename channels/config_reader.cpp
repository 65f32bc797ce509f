#include "channels/config_reader.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "channels/http_util.hpp"

namespace dispatcher::channels {

std::optional<std::string> system_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

EntryReader::EntryReader(YAML::Node node, std::string path, EnvFn env, std::set<std::string> common)
    : node_(std::move(node)),
      path_(std::move(path)),
      env_(env ? std::move(env) : EnvFn(system_env)),
      read_(std::move(common)) {
  if (!node_.IsMap()) throw ConfigError(path_ + ": must be a map");
}

namespace {
std::string joined(const std::vector<std::string>& errors) {
  std::string s;
  for (const auto& e : errors) s += (s.empty() ? "" : "; ") + e;
  return s;
}
}  // namespace

ConfigErrors::ConfigErrors(std::vector<std::string> errors)
    : ConfigError(joined(errors)), errors_(std::move(errors)) {}

void EntryReader::fail(const std::string& key, const std::string& what) const {
  throw ConfigError((key.empty() ? path_ : at(key)) + ": " + what);
}

bool EntryReader::has(const std::string& key) const { return node_[key] && !node_[key].IsNull(); }

std::string EntryReader::str(const std::string& key) {
  read_.insert(key);
  if (!has(key)) fail(key, "required");
  if (!node_[key].IsScalar()) fail(key, "must be a string");
  std::string v = node_[key].as<std::string>();
  if (v.empty()) fail(key, "must not be empty");
  return v;
}

std::string EntryReader::str(const std::string& key, const std::string& fallback) {
  read_.insert(key);
  if (!has(key)) return fallback;
  if (!node_[key].IsScalar()) fail(key, "must be a string");
  return node_[key].as<std::string>();
}

long long EntryReader::integer(const std::string& key, long long fallback, long long min,
                               long long max) {
  read_.insert(key);
  if (!has(key)) return fallback;
  long long v = 0;
  try {
    v = node_[key].as<long long>();
  } catch (const YAML::Exception&) {
    fail(key, "must be an integer");
  }
  if (v < min || v > max)
    fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return v;
}

double EntryReader::number(const std::string& key, double fallback, double min, double max) {
  read_.insert(key);
  if (!has(key)) return fallback;
  double v = 0;
  try {
    v = node_[key].as<double>();
  } catch (const YAML::Exception&) {
    fail(key, "must be a number");
  }
  if (!(v >= min && v <= max))
    fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return v;
}

bool EntryReader::boolean(const std::string& key, bool fallback) {
  read_.insert(key);
  if (!has(key)) return fallback;
  try {
    return node_[key].as<bool>();
  } catch (const YAML::Exception&) {
    fail(key, "must be true or false");
  }
}

std::vector<std::string> EntryReader::strings(const std::string& key) {
  read_.insert(key);
  std::vector<std::string> out;
  if (!has(key)) return out;
  if (!node_[key].IsSequence()) fail(key, "must be a list");
  for (const auto& v : node_[key]) {
    if (!v.IsScalar()) fail(key, "must be a list of strings");
    out.push_back(v.as<std::string>());
  }
  return out;
}

YAML::Node EntryReader::map(const std::string& key) {
  read_.insert(key);
  if (!has(key)) return YAML::Node();
  if (!node_[key].IsMap()) fail(key, "must be a map");
  return node_[key];
}

std::string EntryReader::secret(const std::string& key, bool required) {
  read_.insert(key);
  if (node_[key])
    fail(key, "secrets are never written inline; use " + key + "_env or " + key + "_file");
  const bool by_env = has(key + "_env"), by_file = has(key + "_file");
  if (by_env && by_file)
    fail(key + "_env", "give either " + key + "_env or " + key + "_file, not both");
  if (by_env) {
    const std::string var = str(key + "_env");
    auto v = env_(var);
    if (!v || v->empty()) fail(key + "_env", "environment variable " + var + " is not set");
    return *v;
  }
  read_.insert(key + "_env");
  if (by_file) {
    const std::string path = str(key + "_file");
    std::string v;
    try {
      v = read_text_file(path);
    } catch (const std::exception& e) {
      fail(key + "_file", e.what());
    }
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) v.pop_back();
    if (v.empty()) fail(key + "_file", path + " is empty");
    return v;
  }
  read_.insert(key + "_file");
  if (required) fail(key + "_env", "required (or " + key + "_file)");
  return {};
}

std::string EntryReader::url(const std::string& key, const std::string& fallback, bool required) {
  std::string v = str(key, fallback);
  if (v.empty()) {
    if (required) fail(key, "required");
    return v;
  }
  const std::string scheme = url_scheme(v), host = url_host(v);
  if (host.empty()) fail(key, "not an absolute URL");
  if (scheme == "https") return v;
  if (scheme == "http") {
    if (!is_loopback_host(host))
      fail(key, "plain http:// is only allowed to a loopback host; use https://");
    return v;
  }
  fail(key, "must be an https:// URL");
}

std::string EntryReader::file(const std::string& key, bool required) {
  std::string path = str(key, "");
  if (path.empty()) {
    if (required) fail(key, "required");
    return path;
  }
  if (!std::ifstream(path)) fail(key, "cannot read " + path);
  return path;
}

void EntryReader::finish() const {
  for (const auto& kv : node_) {
    const std::string k = kv.first.as<std::string>();
    if (!read_.count(k)) throw ConfigError(at(k) + ": unknown key");
  }
}

}  // namespace dispatcher::channels
