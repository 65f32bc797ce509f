#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "dispatcher/provider_latency.hpp"
#include "web/app.hpp"
#include "web/app_call.hpp"

// /healthz and /metrics.

namespace dispatcher::web {

using json = nlohmann::json;
using redis::cmd;
using redis::Reply;

namespace {
// A consumer that has not ticked (every scheduler_interval_ms) for this long counts as gone.
constexpr std::int64_t consumer_alive_ms = 10000;
}  // namespace

void App::healthz(CallPtr c) {
  // Plain /healthz is this server's health (it answers and reaches Redis): an intake server
  // is useful before any consumer runs, and a load balancer must not take it out of service
  // for a missing consumer. ?require=consumer is the whole pipeline's health (a consumer sent
  // a heartbeat recently), for the monitor that pages someone.
  const auto req = c->query.find("require");
  if (req != c->query.end() && req->second != "consumer")
    return c->error(http::status::bad_request, "require must be consumer");
  const bool need_consumer = req != c->query.end();
  const std::string alive_since = std::to_string(to_epoch_ms(now_()) - consumer_alive_ms);
  redis_exec({cmd("PING"), cmd("ZCOUNT", rt_.keys.consumers(), alive_since, "+inf")},
             [c, need_consumer](const std::string& err, std::vector<Reply> r) {
               if (!err.empty() || r.size() != 2)
                 return c->json_reply(http::status::service_unavailable,
                                      {{"status", "unavailable"}, {"redis", "unavailable"}});
               const long long alive = r[1].integer;
               const bool ok = !need_consumer || alive > 0;
               c->json_reply(ok ? http::status::ok : http::status::service_unavailable,
                             {{"status", alive > 0 ? "ok" : "no_consumer"},
                              {"redis", "ok"},
                              {"consumers_alive", alive}});
             });
}

void App::metrics_page(CallPtr c) {
  const auto& k = rt_.keys;
  const std::string alive_since = std::to_string(to_epoch_ms(now_()) - consumer_alive_ms);
  redis_exec(
      {cmd("XLEN", k.stream()), cmd("ZCARD", k.scheduled()), cmd("XLEN", k.dead()),
       cmd("HGETALL", k.stats()), cmd("ZCOUNT", k.consumers(), alive_since, "+inf")},
      [this, c](const std::string& err, std::vector<Reply> r) {
        std::vector<Metrics::Gauge> g;
        std::vector<Metrics::ExternalCounter> totals;
        Metrics::ExternalHistogram latency_hist{
            "dispatcher_provider_latency_seconds",
            "Time from handing a message to a provider to its answer, by provider and outcome.",
            {latency::bounds.begin(), latency::bounds.end()},
            {}};
        const bool ok = err.empty() && r.size() == 5;
        g.push_back({"dispatcher_redis_up", "Whether Redis answered this scrape.", ok ? 1.0 : 0.0});
        if (ok) {
          g.push_back(
              {"dispatcher_queue_depth", "Entries in the message stream.", double(r[0].integer)});
          g.push_back({"dispatcher_scheduled_messages",
                       "Messages waiting for their send time or a retry.", double(r[1].integer)});
          g.push_back({"dispatcher_dead_letters", "Entries in the dead-letter stream.",
                       double(r[2].integer)});
          g.push_back({"dispatcher_consumers_alive",
                       "Consumers (`dispatcher run`) with a recent heartbeat.",
                       double(r[4].integer)});
          // The consumers' totals: sent per channel; denied, deferred, dead-lettered, failed per
          // reason.
          Metrics::ExternalCounter sent{
              "dispatcher_messages_sent_total", "Messages a provider accepted, by channel.", {}};
          Metrics::ExternalCounter other{
              "dispatcher_messages_total",
              "Messages not sent, by outcome and reason code (retried: by channel).",
              {}};
          std::map<std::pair<std::string, std::string>, Metrics::ExternalHistogram::Series>
              by_provider;
          for (std::size_t i = 0; i + 1 < r[3].elements.size(); i += 2) {
            const std::string& field = r[3].elements[i].str;
            if (auto lf = latency::parse_field(field)) {
              auto& s = by_provider[{lf->provider, lf->outcome}];
              if (s.buckets.empty()) {
                s.labels = {{"provider", lf->provider}, {"outcome", lf->outcome}};
                s.buckets.assign(latency::bounds.size() + 1, 0.0);
              }
              const double v = std::atof(r[3].elements[i + 1].str.c_str());
              if (lf->bucket)
                s.buckets[*lf->bucket] += v;
              else
                s.sum += v / 1e6;
              continue;
            }
            const auto tab = field.find('\t');
            if (tab == std::string::npos) continue;
            const std::string outcome = field.substr(0, tab), label = field.substr(tab + 1);
            const double v = std::atof(r[3].elements[i + 1].str.c_str());
            if (outcome == "sent")
              sent.series.push_back({{{"channel", label}}, v});
            else
              other.series.push_back({{{"outcome", outcome}, {"reason", label}}, v});
          }
          totals = {std::move(sent), std::move(other)};
          for (auto& [_, s] : by_provider) latency_hist.series.push_back(std::move(s));
        }
        c->send(http::status::ok, metrics_.render(g, totals, {std::move(latency_hist)}),
                "text/plain; version=0.0.4; charset=utf-8");
      });
}

}  // namespace dispatcher::web
