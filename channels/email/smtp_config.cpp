// Config for the smtp provider: channels.email[i] → SmtpSettings.
#include "channels/builtin.hpp"
#include "channels/email/mime.hpp"
#include "channels/email/smtp.hpp"
#include "channels/http_util.hpp"

namespace dispatcher::channels {

std::unique_ptr<Provider> make_smtp(const ProviderEntry& entry, Context& ctx) {
  EntryReader r(entry.node, entry.path, entry.file, ctx.env, common_entry_keys());
  const std::string& name = entry.name;
  email::SmtpSettings s;
  s.url = r.str("url");
  const std::string scheme = url_scheme(s.url), host = url_host(s.url);
  if ((scheme != "smtp" && scheme != "smtps") || host.empty())
    r.fail("url", "must be smtp://host:port (STARTTLS) or smtps://host:port");
  const bool starttls = r.boolean("starttls", true);
  s.require_tls = scheme == "smtp" && starttls;
  if (scheme == "smtp" && !starttls && !is_loopback_host(host))
    r.fail("starttls", "a non-TLS SMTP connection is only allowed to a loopback host");
  s.from_address = r.str("from");
  s.from_name = r.str("from_name", "");
  email::Mail probe;
  probe.from_address = s.from_address;
  probe.to = s.from_address;
  probe.text = "x";
  if (email::validate(probe)) r.fail("from", "not a valid e-mail address");
  s.username = r.str("username", "");
  s.password = r.secret("password", !s.username.empty());
  s.ca_file = r.file("ca_file", false);
  s.pool = static_cast<std::size_t>(r.integer("pool", 4, 1, 256));
  s.queue = static_cast<std::size_t>(r.integer("queue", 10'000, 1, 1'000'000));
  s.timeout = std::chrono::milliseconds(r.integer("timeout_ms", 120'000, 1'000, 900'000));
  s.message_id_domain = r.str("message_id_domain", "");
  s.utc_offset_minutes = static_cast<int>(r.integer("utc_offset_minutes", 540, -720, 840));
  r.finish();
  return std::make_unique<email::SmtpProvider>(name, std::move(s), ctx.multi);
}

}  // namespace dispatcher::channels
