// Config for the fcm provider: channels.push[i] + the service-account key file → FcmSettings.
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "channels/builtin.hpp"
#include "channels/http_util.hpp"
#include "channels/push/fcm.hpp"

namespace dispatcher::channels {

std::unique_ptr<Provider> make_fcm(const ProviderEntry& entry, Context& ctx) {
  EntryReader r(entry.node, entry.path, entry.file, ctx.env, common_entry_keys());
  const std::string& name = entry.name;
  push::FcmSettings s;
  const std::string key_file = r.file("key_file");
  nlohmann::json key = nlohmann::json::parse(read_text_file(key_file), nullptr, false);
  if (!key.is_object()) r.fail("key_file", key_file + " is not a service-account JSON key");
  auto field = [&](const char* f) {
    if (!key.contains(f) || !key[f].is_string() || key[f].get<std::string>().empty())
      r.fail("key_file", key_file + " has no \"" + f + "\"");
    return key[f].get<std::string>();
  };
  s.client_email = field("client_email");
  try {
    s.private_key = push::load_private_key(field("private_key"));
  } catch (const std::exception& e) {
    r.fail("key_file", std::string("private_key: ") + e.what());
  }
  if (EVP_PKEY_get_base_id(s.private_key.get()) != EVP_PKEY_RSA)
    r.fail("key_file", "private_key is not an RSA key");
  s.private_key_id = key.value("private_key_id", "");
  s.token_uri = key.value("token_uri", s.token_uri);
  const std::string token_scheme = url_scheme(s.token_uri);
  if (!(token_scheme == "https" ||
        (token_scheme == "http" && is_loopback_host(url_host(s.token_uri)))))
    r.fail("key_file", "token_uri must be https://");
  s.project_id = r.str("project_id", key.value("project_id", ""));
  if (s.project_id.empty()) r.fail("project_id", "required (or project_id in the key file)");
  s.base_url = r.url("base_url", s.base_url);
  s.ca_file = r.file("ca_file", false);
  s.timeout = std::chrono::milliseconds(r.integer("timeout_ms", 10'000, 100, 120'000));
  s.refresh_before = std::chrono::seconds(r.integer("refresh_before_s", 300, 0, 3000));
  r.finish();
  return std::make_unique<push::FcmProvider>(name, std::move(s), ctx.multi, ctx.now);
}

}  // namespace dispatcher::channels
