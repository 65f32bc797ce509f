#include "channels/registry.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <stdexcept>

#include "channels/builtin.hpp"
#include "channels/failover.hpp"
#include "channels/http_outcome.hpp"
#include "channels/line/line.hpp"
#include "channels/rate_limit.hpp"

namespace dispatcher::channels {

void ProviderRegistry::add(std::string type, ProviderFactory factory) {
  if (type.empty() || !factory)
    throw std::invalid_argument("provider type needs a name and a factory");
  if (factories_.count(type))
    throw std::invalid_argument("provider type \"" + type + "\" is already registered");
  factories_.emplace(std::move(type), std::move(factory));
}

const ProviderFactory* ProviderRegistry::find(std::string_view type) const {
  auto it = factories_.find(type);
  return it == factories_.end() ? nullptr : &it->second;
}

std::vector<std::string> ProviderRegistry::types() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : factories_) out.push_back(k);
  return out;
}

void register_builtin_providers(ProviderRegistry& registry) {
  registry.add("smtp", make_smtp);
  registry.add("twilio", make_twilio);
  registry.add("http_sms", make_http_sms);
  registry.add("fcm", make_fcm);
  registry.add("apns", make_apns);
  registry.add("line", make_line);
}

namespace {

// A provider owned elsewhere (the platform router), used in a second list.
class SharedRef final : public Provider {
 public:
  explicit SharedRef(Provider& p) : Provider(p.name()), p_(p) {}
  bool already_accepted(std::string_view sender, std::string_view id) override {
    return p_.already_accepted(sender, id);
  }
  bool answers_itself() const override { return false; }

 protected:
  void do_send(const Envelope& e, Completion done) override { p_.send(e, std::move(done)); }

 private:
  Provider& p_;
};

// Push: FCM tokens go to the fcm providers, APNs tokens to the apns ones; others (outbox) take
// both.
class PlatformRouter final : public Provider {
 public:
  PlatformRouter(std::string name, std::vector<std::unique_ptr<Provider>> owned,
                 std::map<std::string, std::unique_ptr<Provider>> routes,
                 boost::asio::io_context& io)
      : Provider(std::move(name)), owned_(std::move(owned)), routes_(std::move(routes)), io_(io) {}
  bool already_accepted(std::string_view sender, std::string_view id) override {
    for (auto& p : owned_)
      if (p->already_accepted(sender, id)) return true;
    return false;
  }
  bool answers_itself() const override { return false; }
  std::vector<ConnectTarget> connect_targets()
      const override {  // the owned ones: routes share them
    std::vector<ConnectTarget> all;
    for (const auto& p : owned_)
      for (auto& t : p->connect_targets()) all.push_back(std::move(t));
    return all;
  }

 protected:
  void do_send(const Envelope& e, Completion done) override {
    auto it = routes_.find(e.push_platform);
    if (it == routes_.end())
      return complete_later(io_, std::move(done),
                            permanent("no push provider for platform \"" + e.push_platform + "\""));
    it->second->send(e, std::move(done));
  }

 private:
  std::vector<std::unique_ptr<Provider>> owned_;
  std::map<std::string, std::unique_ptr<Provider>> routes_;
  boost::asio::io_context& io_;
};

// The limit an entry of this type gets when it has no `rate` of its own: LINE's published
// per-channel limit, so that a burst queues here instead of collecting 429s.
std::optional<RateSettings> default_rate(std::string_view type) {
  if (type == "line") return RateSettings{line::requests_per_second, line::requests_per_second};
  return std::nullopt;
}

std::unique_ptr<Provider> combine(std::string name, std::vector<std::unique_ptr<Provider>> ps,
                                  BreakerSettings breaker, Context& ctx) {
  if (ps.size() == 1) return std::move(ps.front());
  return std::make_unique<Failover>(std::move(name), std::move(ps), breaker, ctx.io, ctx.now);
}

}  // namespace

Channels build_channels(const config::Located& section, const ProviderRegistry& registry,
                        Context& ctx) {
  Channels out;
  const YAML::Node& channels = section.node;
  config::Errors errors(section.file);
  if (!channels || channels.IsNull()) return out;
  if (!channels.IsMap()) {
    errors.add(config::mark_of(channels), "channels", "must be a map");
    errors.raise_if_any();
  }
  // Every entry is read even after a mistake, so one run of `check` lists them all (the first
  // mistake of each entry: an entry's later keys may depend on the one that is wrong).
  auto collecting = [&errors](auto&& read) {
    try {
      read();
    } catch (const config::LoadError& e) {
      for (const auto& p : e.problems()) errors.add(p);
    }
  };
  BreakerSettings breaker;
  for (const auto& kv : channels) {
    const std::string key = kv.first.Scalar();
    if (key == "breaker") {
      collecting([&] {
        EntryReader b(kv.second, "channels.breaker", section.file, ctx.env);
        breaker.failures_to_open = static_cast<unsigned>(b.integer("failures_to_open", 5, 1, 1000));
        breaker.cool_down =
            std::chrono::milliseconds(b.integer("cool_down_s", 30, 1, 86'400) * 1000);
        b.finish();
      });
    } else if (!parse_channel(key)) {
      errors.add(config::mark_of(kv.first), "channels." + key,
                 "unknown key (expected email, sms, push, line or breaker)");
    }
  }
  for (Channel c : all_channels) {
    const std::string cname(to_string(c));
    const YAML::Node list = channels[cname];
    if (!list || list.IsNull()) continue;
    if (!list.IsSequence()) {
      errors.add(config::mark_of(list), "channels." + cname, "must be a list of providers");
      continue;
    }
    std::vector<std::unique_ptr<Provider>> providers;
    std::vector<std::string> types;
    std::set<std::string> names;
    for (std::size_t i = 0; i < list.size(); ++i)
      collecting([&] {
        const std::string path = "channels." + cname + "[" + std::to_string(i) + "]";
        const YAML::Node entry = list[i];
        // Read only for type, name and rate: the factory's reader reports the other keys.
        EntryReader own(entry, path, section.file, ctx.env);
        const std::string type = own.str("type");
        const ProviderFactory* factory = registry.find(type);
        if (!factory) own.fail("type", "unknown provider type \"" + type + "\"");
        const std::string name = own.str("name", type);
        if (!names.insert(name).second)
          own.fail("name", "\"" + name + "\" is used twice in channels." + cname);
        std::unique_ptr<Provider> p =
            (*factory)(ProviderEntry{entry, path, section.file, name, c}, ctx);
        if (!p) own.fail("", "the factory made nothing");
        if (entry["rate"]) {
          EntryReader rr(entry["rate"], path + ".rate", section.file, ctx.env);
          RateSettings rate;
          rate.per_second = rr.number("per_second", 0, 0.001, 1e6);
          rate.burst = rr.number("burst", std::max(1.0, rate.per_second), 1, 1e7);
          rate.queue = static_cast<std::size_t>(rr.integer("queue", 10'000, 1, 10'000'000));
          rr.finish();
          if (rate.per_second <= 0) rr.fail("per_second", "required");
          p = std::make_unique<RateLimited>(std::move(p), rate, ctx.io, ctx.now);
        } else if (const auto rate = default_rate(type)) {
          p = std::make_unique<RateLimited>(std::move(p), *rate, ctx.io, ctx.now);
        }
        providers.push_back(std::move(p));
        types.push_back(type);
      });
    if (!errors.empty() || providers.empty()) continue;
    const bool platform_specific =
        c == Channel::push &&
        std::any_of(types.begin(), types.end(), [](auto& t) { return t == "fcm" || t == "apns"; });
    if (!platform_specific) {
      out.by_channel[index(c)] = combine(cname, std::move(providers), breaker, ctx);
      continue;
    }
    std::map<std::string, std::unique_ptr<Provider>> routes;
    for (const char* platform : {"fcm", "apns"}) {
      std::vector<std::unique_ptr<Provider>> group;
      for (std::size_t i = 0; i < providers.size(); ++i)
        if (types[i] == platform || (types[i] != "fcm" && types[i] != "apns"))
          group.push_back(std::make_unique<SharedRef>(*providers[i]));
      if (!group.empty())
        routes.emplace(platform, combine(cname + "." + platform, std::move(group), breaker, ctx));
    }
    out.by_channel[index(c)] =
        std::make_unique<PlatformRouter>(cname, std::move(providers), std::move(routes), ctx.io);
  }
  errors.raise_if_any();
  return out;
}

}  // namespace dispatcher::channels
