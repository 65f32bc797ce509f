#include "web/api_keys.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "codec/base64.hpp"
#include "codec/random.hpp"
#include "model/message.hpp"
#include "web/text.hpp"

namespace dispatcher::web {

namespace {

bool valid_key_sender(std::string_view s) {
  return s == "operator" || (s.rfind("clinic:", 0) == 0 && s.size() > 7 && valid_sender(s));
}

}  // namespace

ApiKeys ApiKeys::load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read API keys file " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), file.string());
}

ApiKeys ApiKeys::parse(std::string_view yaml, std::string_view name) {
  ApiKeys keys;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", name, e.what()));
  }
  if (root.IsMap() && root["keys"]) root = root["keys"];
  if (root.IsNull()) return keys;
  if (!root.IsSequence())
    throw std::runtime_error(fmt::format("{}: expected a list of {{sha256, sender}}", name));
  std::size_t i = 0;
  for (const auto& entry : root) {
    ++i;
    if (!entry.IsMap() || !entry["sha256"] || !entry["sender"])
      throw std::runtime_error(fmt::format("{}: entry {} needs sha256 and sender", name, i));
    for (const auto& kv : entry) {
      auto field = kv.first.as<std::string>();
      if (field != "sha256" && field != "sender" && field != "note")
        throw std::runtime_error(fmt::format("{}: entry {}: unknown field {}", name, i, field));
    }
    auto hash = entry["sha256"].as<std::string>();
    auto sender = entry["sender"].as<std::string>();
    if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw std::runtime_error(
          fmt::format("{}: entry {}: sha256 must be 64 lower-case hex digits", name, i));
    if (!valid_key_sender(sender))
      throw std::runtime_error(
          fmt::format("{}: entry {}: sender must be operator or clinic:<id>", name, i));
    keys.add(std::move(hash), std::move(sender));
  }
  return keys;
}

void ApiKeys::add(std::string sha256_hex, std::string sender) {
  by_hash_[std::move(sha256_hex)] = ApiKey{std::move(sender)};
}

namespace {

// The password of an "Authorization: Basic base64(user:password)" value; nullopt if malformed.
std::optional<std::string> basic_password(std::string_view encoded) {
  if (encoded.size() > 512) return std::nullopt;
  const auto decoded = base64_decode(encoded);
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return decoded->substr(colon + 1);
}

}  // namespace

std::optional<ApiKey> ApiKeys::authenticate(std::string_view authorization) const {
  // Bearer is the contract; Basic (any user name, the key as password) is for providers whose
  // webhooks can only carry credentials in the URL's userinfo.
  constexpr std::string_view bearer = "Bearer ", basic = "Basic ";
  std::string from_basic;
  std::string_view key;
  if (authorization.size() > bearer.size() && authorization.substr(0, bearer.size()) == bearer) {
    key = authorization.substr(bearer.size());
  } else if (authorization.size() > basic.size() &&
             authorization.substr(0, basic.size()) == basic) {
    std::string_view enc = authorization.substr(basic.size());
    while (!enc.empty() && enc.back() == ' ') enc.remove_suffix(1);
    auto password = basic_password(enc);
    if (!password) return std::nullopt;
    from_basic = std::move(*password);
    key = from_basic;
  } else {
    return std::nullopt;
  }
  while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
  if (key.empty() || key.size() > 256) return std::nullopt;
  auto it =
      by_hash_.find(sha256_hex(key));  // the lookup is by hash: timing reveals nothing of a key
  if (it == by_hash_.end()) return std::nullopt;
  return it->second;
}

NewKey new_api_key(std::string_view sender) {
  if (!valid_key_sender(sender)) throw std::runtime_error("sender must be operator or clinic:<id>");
  NewKey k;
  k.key = "dsk_" + random_hex(32);
  k.yaml_entry = fmt::format("- {{sha256: {}, sender: \"{}\"}}", sha256_hex(k.key), sender);
  return k;
}

}  // namespace dispatcher::web
