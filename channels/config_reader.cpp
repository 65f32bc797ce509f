#include "channels/config_reader.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "channels/http_util.hpp"

namespace dispatcher::channels {

std::optional<std::string> system_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

std::string read_text_file(const std::string& path) {
  std::string why;
  std::optional<std::string> text = config::read_regular_file(path, why);
  if (!text) throw std::runtime_error(path + ": " + why);
  return *text;
}

EntryReader::EntryReader(YAML::Node node, std::string path, std::string file, EnvFn env,
                         std::set<std::string> common)
    : errors_(std::move(file), "config", config::Errors::Mode::stop_at_first),
      map_(node, std::move(path), errors_, "must be a map", std::move(common)),
      env_(env ? std::move(env) : EnvFn(system_env)) {
  if (!node.IsMap()) fail("", "must be a map");  // absent or null: the walker reads it as empty
}

void EntryReader::fail(const std::string& key, const std::string& what) const {
  throw config::LoadError(errors_.subject(), {map_.problem(key, what)});
}

EntryReader EntryReader::map(const std::string& key) {
  const YAML::Node n = map_.value(key);
  // Absent or null: an empty map, so that the child's defaults apply.
  return EntryReader(n.IsDefined() && !n.IsNull() ? n : YAML::Node(YAML::NodeType::Map), at(key),
                     errors_.file(), env_);
}

std::string EntryReader::secret(const std::string& key, bool required) {
  if (map_.value(key).IsDefined())
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
  map_.value(key + "_env");  // read, and absent or null
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
  map_.value(key + "_file");
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
  if (::access(path.c_str(), R_OK) != 0) fail(key, "cannot read " + path);
  // A FIFO or a device (/dev/zero) would block or never end when the provider reads it.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail(key, path + " is not a regular file");
  return path;
}

}  // namespace dispatcher::channels
