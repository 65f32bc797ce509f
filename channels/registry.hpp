// Providers are named plug-ins: a registry maps a type name ("smtp", "twilio", "http_sms", "fcm",
// "apns", "line", the lead's "outbox") to a factory, filled explicitly by the caller;
// build_channels turns the `channels:` config node into one Provider per channel (rate-limited
// where configured, several providers behind a Failover, push routed by platform).
//
//   channels:
//     breaker: {failures_to_open: 5, cool_down_s: 30}        # optional
//     email: [ {type: smtp, name: primary-smtp, url: "smtps://smtp.example.jp:465", ...} ]
//     sms:   [ {type: twilio, ...}, {type: http_sms, ...} ]
//     push:  [ {type: fcm, ...}, {type: apns, ...} ]
//     line:  [ {type: line, channel_access_token_env: LINE_TOKEN, channel_secret_env: ...} ]
//
// Every entry: `type` (required), `name` (default: the type; unique per channel), optional
// `rate: {per_second: 100, burst: 200, queue: 10000}` (a `line` entry without one: LINE's 2,000
// a second); everything else belongs to the type.
#pragma once

#include <yaml-cpp/yaml.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "channels/config_reader.hpp"
#include "channels/curl/multi.hpp"
#include "channels/provider.hpp"
#include "config/clock.hpp"
#include "config/vocabulary.hpp"
#include "config/yaml_reader.hpp"

namespace dispatcher::channels {

// What a factory may use: the loop, the one curl engine, the clock and the environment.
struct Context {
  boost::asio::io_context& io;
  curl::Multi& multi;
  NowFn now = system_now;
  EnvFn env = system_env;
};

// One entry of a channel's provider list, as a factory sees it.
struct ProviderEntry {
  YAML::Node node;   // the entry; keys "type", "name" and "rate" are build_channels' own
  std::string path;  // names it in errors: "channels.sms[0]"
  std::string file;  // the config file it is in, for the positions in errors
  std::string name;  // the provider's name (default: its type)
  Channel channel;   // the channel it serves
};

// A factory reads its entry with an EntryReader and throws config::LoadError (naming the
// position and entry.path + key) for anything wrong.
using ProviderFactory =
    std::function<std::unique_ptr<Provider>(const ProviderEntry& entry, Context& ctx)>;

class ProviderRegistry {
 public:
  // Throws std::invalid_argument when `type` is already registered.
  void add(std::string type, ProviderFactory factory);
  const ProviderFactory* find(std::string_view type) const;
  std::vector<std::string> types() const;

 private:
  std::map<std::string, ProviderFactory, std::less<>> factories_;
};

// Registers smtp, twilio, http_sms, fcm, apns and line.
void register_builtin_providers(ProviderRegistry& registry);

// The keys every entry may carry besides its type's own.
inline const std::set<std::string>& common_entry_keys() {
  static const std::set<std::string> keys{"type", "name", "rate"};
  return keys;
}

struct Channels {
  std::array<std::unique_ptr<Provider>, channel_count> by_channel;
  Provider* get(Channel c) const noexcept { return by_channel[index(c)].get(); }
};

// `channels`: the section and the file it came from. Throws one config::LoadError listing, in
// file order, the first mistake of every entry and every unknown key, each with its position
// and key path.
Channels build_channels(const config::Located& channels, const ProviderRegistry& registry,
                        Context& ctx);

}  // namespace dispatcher::channels
