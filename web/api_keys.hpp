// API keys of the intake and subject endpoints. Only SHA-256 hashes are stored (a YAML file of
// `- {sha256: <hex>, sender: "operator" | "clinic:c-102"}`); a presented key is hashed and looked
// up.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dispatcher::web {

struct ApiKey {
  std::string sender;  // operator | clinic:<id>
  bool is_operator() const { return sender == "operator"; }
  std::string clinic() const {
    return sender.rfind("clinic:", 0) == 0 ? sender.substr(7) : std::string{};
  }
};

class ApiKeys {
 public:
  static ApiKeys load(const std::filesystem::path& file);  // throws with one clear line
  static ApiKeys parse(std::string_view yaml, std::string_view name = "<keys>");
  void add(std::string sha256_hex, std::string sender);
  // From an "Authorization: Bearer <key>" header value (or "Basic", with the key as password,
  // for webhooks that can only carry URL userinfo); nullopt when absent or unknown.
  std::optional<ApiKey> authenticate(std::string_view authorization) const;
  std::size_t size() const { return by_hash_.size(); }

 private:
  std::unordered_map<std::string, ApiKey> by_hash_;
};

// A fresh key ("dsk_" + 64 hex) and the YAML entry that admits it.
struct NewKey {
  std::string key, yaml_entry;
};
NewKey new_api_key(std::string_view sender);

}  // namespace dispatcher::web
