// Reading one provider's YAML entry at start-up, over config's strict walker
// (config/yaml_reader.hpp): every key read is marked, unknown keys are errors, and every error
// is a config::LoadError naming the place and the key path
// ("dispatcher.yaml:12:7: channels.sms[0].account_sid: required").
// What is the providers' own: secrets come from an environment variable (`<key>_env`) or a file
// (`<key>_file`), never inline; plain-text URLs (http://, smtp:// without TLS) are refused unless
// the host is loopback; files named in an entry must be regular, readable files.
//
// A reader stops at an entry's first mistake (its later keys may depend on the one that is
// wrong); build_channels gathers the first mistake of every entry, so `check` lists them all.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/yaml_reader.hpp"

namespace dispatcher::channels {

using EnvFn = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> system_env(const std::string& name);

class EntryReader {
 public:
  // `node` from `file` (for the positions in errors), named `path` ("channels.sms[0]").
  // `common`: keys handled by the caller (type, name, rate), accepted without being read here.
  EntryReader(YAML::Node node, std::string path, std::string file, EnvFn env = system_env,
              std::set<std::string> common = {});
  EntryReader(const EntryReader&) = delete;  // the walker holds a reference to errors_
  EntryReader& operator=(const EntryReader&) = delete;

  const std::string& path() const noexcept { return map_.path(); }
  std::string at(const std::string& key) const { return map_.at(key); }
  // Throws the mistake `what` about `key` (the entry itself when empty) as a config::LoadError.
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;

  bool has(const std::string& key) const { return map_.has(key); }
  std::string str(const std::string& key) { return map_.str(key); }  // required
  std::string str(const std::string& key, const std::string& fallback) {
    return map_.str(key, fallback);
  }
  long long integer(const std::string& key, long long fallback, long long min, long long max) {
    return map_.integer(key, fallback, min, max);
  }
  double number(const std::string& key, double fallback, double min, double max) {
    return map_.number(key, fallback, min, max);
  }
  bool boolean(const std::string& key, bool fallback) { return map_.boolean(key, fallback); }
  // A list of scalars (empty if absent).
  std::vector<std::string> strings(const std::string& key) { return map_.strings(key); }
  // The sub-map under `key` (an empty one when absent), read by a child reader.
  EntryReader map(const std::string& key);
  // `<key>_env` or `<key>_file`; an inline `<key>` is an error. Empty when optional and absent.
  std::string secret(const std::string& key, bool required = true);
  // An absolute URL: https, or plain http to a loopback host only.
  std::string url(const std::string& key, const std::string& fallback = {}, bool required = true);
  // A regular file that exists and can be read; returns its path.
  std::string file(const std::string& key, bool required = true);

  // Throws for the first key that was never read.
  void finish() { map_.finish(); }

 private:
  config::Errors errors_;  // stops at the first mistake: thrown at once
  config::Map map_;
  EnvFn env_;
};

// The text of a file named in an entry (a key file, a secret file): a regular file of at most
// config::max_file_bytes. Throws std::runtime_error "<path>: <why>".
std::string read_text_file(const std::string& path);

}  // namespace dispatcher::channels
