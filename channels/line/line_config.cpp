// Config for the line provider: channels.line[i] → LineSettings, and the channel secret the
// webhook verifies with, read from the same entry.
#include "channels/builtin.hpp"
#include "channels/http_util.hpp"
#include "channels/line/line.hpp"

namespace dispatcher::channels {

std::unique_ptr<Provider> make_line(const ProviderEntry& entry, Context& ctx) {
  EntryReader r(entry.node, entry.path, entry.file, ctx.env, common_entry_keys());
  line::LineSettings s;
  s.channel_access_token = r.secret("channel_access_token");
  // Not needed to send, but checked here too, so `check` finds a secret the webhook cannot read.
  r.secret("channel_secret", false);
  s.base_url = r.url("url", s.base_url);
  s.ca_file = r.file("ca_file", false);
  s.timeout = std::chrono::milliseconds(r.integer("timeout_ms", 10'000, 100, 120'000));
  r.finish();
  return std::make_unique<line::LineProvider>(entry.name, std::move(s), ctx.multi, ctx.now);
}

std::string line_channel_secret(const ProviderEntry& entry, const EnvFn& env) {
  EntryReader r(entry.node, entry.path, entry.file, env, common_entry_keys());
  return r.secret("channel_secret", false);
}

std::vector<std::string> line_channel_secrets(const config::Located& channels, const EnvFn& env) {
  std::vector<std::string> out;
  const YAML::Node list =
      channels.node && channels.node.IsMap() ? channels.node["line"] : YAML::Node();
  if (!list || !list.IsSequence()) return out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node entry = list[i];
    if (!entry.IsMap() || !entry["type"] || entry["type"].Scalar() != "line") continue;
    const std::string path = "channels.line[" + std::to_string(i) + "]";
    std::string secret =
        line_channel_secret(ProviderEntry{entry, path, channels.file, {}, Channel::line}, env);
    if (!secret.empty()) out.push_back(std::move(secret));
  }
  return out;
}

}  // namespace dispatcher::channels
