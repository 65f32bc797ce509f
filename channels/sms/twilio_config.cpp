// Config for the twilio provider: channels.sms[i] → TwilioSettings.
#include "channels/builtin.hpp"
#include "channels/http_util.hpp"
#include "channels/sms/twilio.hpp"

namespace dispatcher::channels {

std::unique_ptr<Provider> make_twilio(const ProviderEntry& entry, Context& ctx) {
  EntryReader r(entry.node, entry.path, entry.file, ctx.env, common_entry_keys());
  const std::string& name = entry.name;
  sms::TwilioSettings s;
  s.base_url = r.url("base_url", "https://api.twilio.com");
  s.account_sid = r.str("account_sid");
  s.auth_token = r.secret("auth_token");
  s.from = r.str("from", "");
  s.messaging_service_sid = r.str("messaging_service_sid", "");
  if (s.from.empty() == s.messaging_service_sid.empty())
    r.fail("from", "give exactly one of from and messaging_service_sid");
  s.status_callback = r.url("status_callback", "", false);
  s.ca_file = r.file("ca_file", false);
  s.timeout = std::chrono::milliseconds(r.integer("timeout_ms", 10'000, 100, 120'000));
  r.finish();
  return std::make_unique<sms::TwilioProvider>(name, std::move(s), ctx.multi);
}

}  // namespace dispatcher::channels
