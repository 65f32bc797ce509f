#include "web/operations.hpp"

#include <cstdlib>

#include "dispatcher/provider_latency.hpp"
#include "web/exchange.hpp"
#include "web/services.hpp"

namespace dispatcher::web {

using json = nlohmann::json;
using redis::cmd;
using redis::Reply;
namespace http = boost::beast::http;

namespace {

std::string alive_since(TimePoint now) {
  return std::to_string(to_epoch_ms(now) - consumer_alive_ms);
}

}  // namespace

std::optional<bool> requires_consumer(const std::map<std::string, std::string>& query) {
  const auto req = query.find("require");
  if (req == query.end()) return false;
  if (req->second != "consumer") return std::nullopt;
  return true;
}

std::vector<redis::Command> health_commands(const Keys& k, TimePoint now) {
  return {cmd("PING"), cmd("ZCOUNT", k.consumers(), alive_since(now), "+inf")};
}

HealthAnswer health_answer(std::error_code ec, const std::vector<Reply>& r, bool need_consumer) {
  if (ec || r.size() != 2)
    return {http::status::service_unavailable,
            {{"status", "unavailable"}, {"redis", "unavailable"}}};
  const long long alive = r[1].integer;
  const bool ok = !need_consumer || alive > 0;
  return {
      ok ? http::status::ok : http::status::service_unavailable,
      {{"status", alive > 0 ? "ok" : "no_consumer"}, {"redis", "ok"}, {"consumers_alive", alive}}};
}

std::vector<redis::Command> metrics_commands(const Keys& k, TimePoint now) {
  return {cmd("XLEN", k.stream()), cmd("ZCARD", k.scheduled()), cmd("XLEN", k.dead()),
          cmd("HGETALL", k.stats()), cmd("ZCOUNT", k.consumers(), alive_since(now), "+inf")};
}

std::string metrics_page(const Metrics& m, std::error_code ec, const std::vector<Reply>& r) {
  std::vector<Metrics::Gauge> g;
  std::vector<Metrics::ExternalCounter> totals;
  Metrics::ExternalHistogram latency_hist{
      "dispatcher_provider_latency_seconds",
      "Time from handing a message to a provider to its answer, by provider and outcome.",
      {latency::bounds.begin(), latency::bounds.end()},
      {}};
  const bool ok = !ec && r.size() == 5;
  g.push_back({"dispatcher_redis_up", "Whether Redis answered this scrape.", ok ? 1.0 : 0.0});
  if (ok) {
    g.push_back({"dispatcher_queue_depth", "Entries in the message stream.", double(r[0].integer)});
    g.push_back({"dispatcher_scheduled_messages",
                 "Messages waiting for their send time or a retry.", double(r[1].integer)});
    g.push_back(
        {"dispatcher_dead_letters", "Entries in the dead-letter stream.", double(r[2].integer)});
    g.push_back({"dispatcher_consumers_alive",
                 "Consumers (`dispatcher run`) with a recent heartbeat.", double(r[4].integer)});
    // The consumers' totals: sent per channel; denied, deferred, dead-lettered, failed per
    // reason.
    Metrics::ExternalCounter sent{
        "dispatcher_messages_sent_total", "Messages a provider accepted, by channel.", {}};
    Metrics::ExternalCounter other{
        "dispatcher_messages_total",
        "Messages not sent, by outcome and reason code (retried: by channel).",
        {}};
    std::map<std::pair<std::string, std::string>, Metrics::ExternalHistogram::Series> by_provider;
    for (std::size_t i = 0; i + 1 < r[3].elements.size(); i += 2) {
      const std::string& field = r[3].elements[i].str;
      const double v = std::atof(r[3].elements[i + 1].str.c_str());
      if (auto lf = latency::parse_field(field)) {
        auto& s = by_provider[{lf->provider, lf->outcome}];
        if (s.buckets.empty()) {
          s.labels = {{"provider", lf->provider}, {"outcome", lf->outcome}};
          s.buckets.assign(latency::bounds.size() + 1, 0.0);
        }
        if (lf->bucket)
          s.buckets[*lf->bucket] += v;
        else
          s.sum += v / 1e6;
        continue;
      }
      const auto tab = field.find('\t');
      if (tab == std::string::npos) continue;
      const std::string outcome = field.substr(0, tab), label = field.substr(tab + 1);
      if (outcome == "sent")
        sent.series.push_back({{{"channel", label}}, v});
      else
        other.series.push_back({{{"outcome", outcome}, {"reason", label}}, v});
    }
    totals = {std::move(sent), std::move(other)};
    for (auto& [_, s] : by_provider) latency_hist.series.push_back(std::move(s));
  }
  return m.render(g, totals, {std::move(latency_hist)});
}

// ---- the handlers ----

void get_healthz(const ExchangePtr& x) {
  const Services& s = x->services();
  const auto need_consumer = requires_consumer(x->query());
  if (!need_consumer) return x->error(http::status::bad_request, "require must be consumer");
  x->redis(health_commands(s.rt.keys, s.now()),
           [x, need = *need_consumer](std::error_code ec, std::vector<Reply> r) {
             auto answer = health_answer(ec, r, need);
             x->json_reply(answer.status, answer.body);
           });
}

void get_metrics(const ExchangePtr& x) {
  const Services& s = x->services();
  x->redis(metrics_commands(s.rt.keys, s.now()), [x](std::error_code ec, std::vector<Reply> r) {
    x->send(http::status::ok, metrics_page(x->services().metrics, ec, r),
            "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace dispatcher::web
