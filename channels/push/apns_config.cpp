// Config for the apns provider: channels.push[i] + the .p8 key file → ApnsSettings.
#include <openssl/evp.h>

#include "channels/builtin.hpp"
#include "channels/push/apns.hpp"

namespace dispatcher::channels {

std::unique_ptr<Provider> make_apns(const ProviderEntry& entry, Context& ctx) {
  EntryReader r(entry.node, entry.path, entry.file, ctx.env, common_entry_keys());
  const std::string& name = entry.name;
  push::ApnsSettings s;
  const std::string key_file = r.file("key_file");
  try {
    s.key = push::load_private_key(read_text_file(key_file));
  } catch (const std::exception& e) {
    r.fail("key_file", e.what());
  }
  if (EVP_PKEY_get_base_id(s.key.get()) != EVP_PKEY_EC || EVP_PKEY_get_bits(s.key.get()) != 256)
    r.fail("key_file", "not an EC P-256 (.p8) key");
  s.key_id = r.str("key_id");
  s.team_id = r.str("team_id");
  s.topic = r.str("topic");
  const bool sandbox = r.boolean("sandbox", false);
  s.base_url = r.url("base_url",
                     sandbox ? "https://api.sandbox.push.apple.com" : "https://api.push.apple.com");
  s.priority = static_cast<int>(r.integer("priority", 10, 1, 10));
  if (s.priority != 1 && s.priority != 5 && s.priority != 10)
    r.fail("priority", "must be 1, 5 or 10");
  s.expiration = std::chrono::seconds(r.integer("expiration_s", 86'400, 0, 30 * 86'400));
  s.ca_file = r.file("ca_file", false);
  s.timeout = std::chrono::milliseconds(r.integer("timeout_ms", 10'000, 100, 120'000));
  r.finish();
  return std::make_unique<push::ApnsProvider>(name, std::move(s), ctx.multi, ctx.now);
}

}  // namespace dispatcher::channels
