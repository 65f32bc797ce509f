#include "dispatcher/providers.hpp"

#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include "channels/email/mime.hpp"
#include "channels/outbox.hpp"
#include "channels/registry.hpp"
#include "codec/hex.hpp"
#include "codec/hmac.hpp"

namespace dispatcher {

namespace {

std::unique_ptr<channels::Provider> outbox(const Runtime& rt, std::string name, Channel c) {
  const std::string from = rt.config.email_from;
  const std::string domain = from.substr(from.find('@') + 1);
  auto eml = [domain](const channels::Envelope& e) {
    channels::email::Mail m{
        e.from_name,       e.from_address,      e.to, e.subject, e.text, e.html, e.marketing,
        e.unsubscribe_url, e.unsubscribe_mailto};
    // Japan's offset for the Date header: the outbox is the embedded default for a Japanese
    // service.
    return channels::email::build_message(
               m, e.created, 9 * 60, channels::email::message_id_unique(e.sender, e.message_id),
               domain)
        .data;
  };
  return std::make_unique<channels::OutboxProvider>(std::move(name), rt.config.data_dir / "outbox",
                                                    c, eml);
}

}  // namespace

ProviderSet build_providers(boost::asio::io_context& io, const Runtime& rt) {
  ProviderSet set;
  const YAML::Node& node = rt.config.channels.node;
  if (node && node.IsMap()) {
    auto multi = std::make_shared<channels::curl::Multi>(io);
    set.engine = multi;
    channels::ProviderRegistry registry;
    channels::register_builtin_providers(registry);
    registry.add("outbox", [&rt](const channels::ProviderEntry& e, channels::Context& ctx) {
      channels::EntryReader r(e.node, e.path, e.file, ctx.env, channels::common_entry_keys());
      r.finish();
      return outbox(rt, e.name, e.channel);
    });
    channels::Context ctx{io, *multi};
    auto built = channels::build_channels(rt.config.channels, registry, ctx);
    for (Channel c : all_channels) set.by_channel[index(c)] = std::move(built.by_channel[index(c)]);
  }
  for (Channel c : all_channels) {
    if (set.by_channel[index(c)]) continue;
    if (set.engine)
      spdlog::warn("channel {}: no provider configured, using the outbox", to_string(c));
    set.by_channel[index(c)] = outbox(rt, "outbox", c);
  }
  return set;
}

}  // namespace dispatcher
