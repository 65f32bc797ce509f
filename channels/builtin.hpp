// The built-in providers' factories (each in <folder>/<type>_config.cpp, apart from the logic).
#pragma once

#include "channels/registry.hpp"

namespace dispatcher::channels {

std::unique_ptr<Provider> make_smtp(const ProviderEntry& entry, Context& ctx);
std::unique_ptr<Provider> make_twilio(const ProviderEntry& entry, Context& ctx);
std::unique_ptr<Provider> make_http_sms(const ProviderEntry& entry, Context& ctx);
std::unique_ptr<Provider> make_fcm(const ProviderEntry& entry, Context& ctx);
std::unique_ptr<Provider> make_apns(const ProviderEntry& entry, Context& ctx);
std::unique_ptr<Provider> make_line(const ProviderEntry& entry, Context& ctx);

// The channel secret of a `line` entry (`channel_secret_env` or `channel_secret_file`), with
// which the web layer verifies X-Line-Signature on POST /webhooks/line; empty when the entry
// gives none. Throws config::LoadError naming the key (an inline secret, an unset variable, an
// unreadable or empty file).
std::string line_channel_secret(const ProviderEntry& entry, const EnvFn& env = system_env);
// The secrets of every `line` entry under `channels` (the section build_channels reads), in
// order, those without one left out. Throws like line_channel_secret.
std::vector<std::string> line_channel_secrets(const config::Located& channels,
                                              const EnvFn& env = system_env);

}  // namespace dispatcher::channels
