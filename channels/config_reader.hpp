// Reading one provider's YAML entry at start-up: every key read is marked, unknown keys are
// errors, and every error names the key path ("channels.sms[0].account_sid: required").
// Secrets come from an environment variable (`<key>_env`) or a file (`<key>_file`), never inline.
// Plain-text URLs (http://, smtp:// without TLS) are refused unless the host is loopback.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace dispatcher::channels {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Several mistakes at once (one per provider entry that has one), so that `check` can list
// them all; what() joins them with "; " for a one-line error elsewhere.
class ConfigErrors : public ConfigError {
 public:
  explicit ConfigErrors(std::vector<std::string> errors);
  const std::vector<std::string>& errors() const noexcept { return errors_; }

 private:
  std::vector<std::string> errors_;
};

using EnvFn = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> system_env(const std::string& name);

class EntryReader {
 public:
  // `common`: keys handled by the caller (type, name, rate), accepted without being read here.
  EntryReader(YAML::Node node, std::string path, EnvFn env = system_env,
              std::set<std::string> common = {});

  const std::string& path() const noexcept { return path_; }
  std::string at(const std::string& key) const { return path_ + "." + key; }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;

  bool has(const std::string& key) const;
  std::string str(const std::string& key);  // required
  std::string str(const std::string& key, const std::string& fallback);
  long long integer(const std::string& key, long long fallback, long long min, long long max);
  double number(const std::string& key, double fallback, double min, double max);
  bool boolean(const std::string& key, bool fallback);
  std::vector<std::string> strings(const std::string& key);  // a list of scalars (empty if absent)
  YAML::Node map(const std::string& key);  // a sub-map (null if absent), read by a child reader
  // `<key>_env` or `<key>_file`; an inline `<key>` is an error. Empty when optional and absent.
  std::string secret(const std::string& key, bool required = true);
  // An absolute URL: https (or the schemes given), plain http only to loopback.
  std::string url(const std::string& key, const std::string& fallback = {}, bool required = true);
  // A file that must exist and be readable; returns its path.
  std::string file(const std::string& key, bool required = true);

  // Throws for the first key that was never read.
  void finish() const;

 private:
  YAML::Node node_;
  std::string path_;
  EnvFn env_;
  std::set<std::string> read_;
};

std::string read_text_file(const std::string& path);  // throws std::runtime_error

}  // namespace dispatcher::channels
