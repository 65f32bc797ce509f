// Config for the http_sms provider: channels.sms[i] → HttpSmsSettings.
#include "channels/builtin.hpp"
#include "channels/sms/http_sms.hpp"

namespace dispatcher::channels {

std::unique_ptr<Provider> make_http_sms(const ProviderEntry& entry, Context& ctx) {
  EntryReader r(entry.node, entry.path, entry.file, ctx.env, common_entry_keys());
  const std::string& name = entry.name;
  sms::HttpSmsSettings s;
  s.url = r.url("url");
  s.auth_header = r.str("auth_header", "Authorization");
  s.auth_value = r.secret("auth_value", false);
  s.from = r.str("from", "");
  {
    EntryReader f = r.map("fields");
    s.to_field = f.str("to", s.to_field);
    s.text_field = f.str("text", s.text_field);
    s.from_field = f.str("from", s.from_field);
    f.finish();
  }
  s.id_field = r.str("id_field", s.id_field);
  s.error_code_field = r.str("error_code_field", s.error_code_field);
  for (auto& c : r.strings("suppress_codes")) s.suppress_codes.insert(c);
  s.ca_file = r.file("ca_file", false);
  s.timeout = std::chrono::milliseconds(r.integer("timeout_ms", 10'000, 100, 120'000));
  r.finish();
  return std::make_unique<sms::HttpSmsProvider>(name, std::move(s), ctx.multi);
}

}  // namespace dispatcher::channels
