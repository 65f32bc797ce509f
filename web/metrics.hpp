// A small Prometheus registry: labelled counters declared in one list, plus gauges the
// server reads from Redis at scrape time. Labels carry routes and codes, never personal data.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace dispatcher::web {

class Metrics {
 public:
  Metrics();  // declares every counter (so each has HELP/TYPE even before its first event)

  // Adds to a declared counter; labels as {{"route","/healthz"},{"status","200"}}.
  void inc(std::string_view name,
           const std::vector<std::pair<std::string, std::string>>& labels = {},
           std::uint64_t by = 1);
  std::uint64_t value(std::string_view name,
                      const std::vector<std::pair<std::string, std::string>>& labels = {}) const;

  struct Gauge {
    std::string name, help;
    double value = 0;
  };
  // A counter kept elsewhere (the consumers' totals in Redis), rendered beside ours.
  struct ExternalCounter {
    std::string name, help;
    std::vector<std::pair<std::vector<std::pair<std::string, std::string>>, double>> series;
  };
  // A histogram kept elsewhere: per label set, the count in each bucket (not cumulative; the
  // last is +Inf) and the sum of observations.
  struct ExternalHistogram {
    std::string name, help;
    std::vector<double> bounds;
    struct Series {
      std::vector<std::pair<std::string, std::string>> labels;
      std::vector<double> buckets;  // bounds.size() + 1
      double sum = 0;
    };
    std::vector<Series> series;
  };
  // Prometheus text exposition format 0.0.4.
  std::string render(const std::vector<Gauge>& gauges,
                     const std::vector<ExternalCounter>& external = {},
                     const std::vector<ExternalHistogram>& histograms = {}) const;

 private:
  struct Family {
    std::string help;
    std::map<std::string, std::uint64_t> series;  // rendered label set → value
  };
  std::map<std::string, Family, std::less<>> families_;
};

// Escapes a label value for the text format (backslash, quote, newline).
std::string escape_label(std::string_view v);

}  // namespace dispatcher::web
