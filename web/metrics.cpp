#include "web/metrics.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace dispatcher::web {

namespace {

std::string label_set(const std::vector<std::pair<std::string, std::string>>& labels) {
  if (labels.empty()) return {};
  std::string s = "{";
  for (std::size_t i = 0; i < labels.size(); ++i)
    s += fmt::format("{}{}=\"{}\"", i ? "," : "", labels[i].first, escape_label(labels[i].second));
  return s + "}";
}

}  // namespace

std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

Metrics::Metrics() {
  families_["dispatcher_http_requests_total"].help =
      "HTTP requests served, by route template and status code.";
  families_["dispatcher_intake_messages_total"].help =
      "Messages offered to POST /v1/messages, by result.";
  families_["dispatcher_unsubscribes_total"].help = "Unsubscribe and preference changes, by kind.";
  families_["dispatcher_webhooks_total"].help = "Provider webhooks received, by kind and result.";
  families_["dispatcher_subject_requests_total"].help =
      "Subject requests (disclosure, opt-out, stop, erasure), by kind.";
  families_["dispatcher_http_connections_shed_total"].help =
      "Connections refused or closed by the connection limits, by reason (per_client, "
      "global_idle, global_busy).";
}

void Metrics::inc(std::string_view name,
                  const std::vector<std::pair<std::string, std::string>>& labels,
                  std::uint64_t by) {
  auto it = families_.find(name);
  if (it == families_.end()) throw std::logic_error("undeclared metric: " + std::string(name));
  it->second.series[label_set(labels)] += by;
}

std::uint64_t Metrics::value(std::string_view name,
                             const std::vector<std::pair<std::string, std::string>>& labels) const {
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto s = it->second.series.find(label_set(labels));
  return s == it->second.series.end() ? 0 : s->second;
}

std::string Metrics::render(const std::vector<Gauge>& gauges,
                            const std::vector<ExternalCounter>& external,
                            const std::vector<ExternalHistogram>& histograms) const {
  std::string out;
  for (const auto& h : histograms) {
    out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", h.name, h.help, h.name);
    for (const auto& s : h.series) {
      auto with_le = [&](std::string le) {
        auto labels = s.labels;
        labels.emplace_back("le", std::move(le));
        return label_set(labels);
      };
      double cumulative = 0;
      for (std::size_t i = 0; i < s.buckets.size(); ++i) {
        cumulative += s.buckets[i];
        out += fmt::format("{}_bucket{} {}\n", h.name,
                           with_le(i < h.bounds.size() ? fmt::format("{}", h.bounds[i]) : "+Inf"),
                           cumulative);
      }
      out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", h.name, label_set(s.labels), s.sum, h.name,
                         label_set(s.labels), cumulative);
    }
  }
  for (const auto& c : external) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", c.name, c.help, c.name);
    for (const auto& [labels, v] : c.series)
      out += fmt::format("{}{} {}\n", c.name, label_set(labels), v);
  }
  for (const auto& [name, f] : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, f.help, name);
    for (const auto& [labels, v] : f.series) out += fmt::format("{}{} {}\n", name, labels, v);
  }
  for (const auto& g : gauges)
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", g.name, g.help, g.name, g.name,
                       g.value);
  return out;
}

}  // namespace dispatcher::web
