// The Prometheus registry: declared counters, gauges, an external histogram.
#include "web/metrics.hpp"

#include <gtest/gtest.h>

namespace dispatcher::web {
namespace {

TEST(Metrics, RendersDeclaredCountersAndGauges) {
  Metrics m;
  m.inc("dispatcher_http_requests_total", {{"route", "/healthz"}, {"status", "200"}});
  m.inc("dispatcher_http_requests_total", {{"route", "/healthz"}, {"status", "200"}});
  m.inc("dispatcher_intake_messages_total", {{"result", "accepted"}}, 5);
  EXPECT_EQ(m.value("dispatcher_http_requests_total", {{"route", "/healthz"}, {"status", "200"}}),
            2u);
  EXPECT_THROW(m.inc("undeclared"), std::logic_error);
  const std::string text = m.render({{"dispatcher_queue_depth", "Entries.", 7}});
  EXPECT_NE(text.find("# TYPE dispatcher_http_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("dispatcher_http_requests_total{route=\"/healthz\",status=\"200\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("dispatcher_intake_messages_total{result=\"accepted\"} 5\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE dispatcher_queue_depth gauge\ndispatcher_queue_depth 7\n"),
            std::string::npos);
  EXPECT_EQ(escape_label("a\"b\\c\n"), "a\\\"b\\\\c\\n");
}

TEST(Metrics, RendersAnExternalHistogramCumulatively) {
  Metrics m;
  Metrics::ExternalHistogram h{"dispatcher_provider_latency_seconds", "Latency.", {0.1, 1.0}, {}};
  h.series.push_back({{{"provider", "smtp-1"}, {"outcome", "accepted"}}, {2, 3, 1}, 4.5});
  const std::string text = m.render({}, {}, {h});
  EXPECT_NE(text.find("# TYPE dispatcher_provider_latency_seconds histogram\n"), std::string::npos)
      << text;
  for (const char* line :
       {"dispatcher_provider_latency_seconds_bucket{provider=\"smtp-1\",outcome=\"accepted\",le="
        "\"0.1\"} 2\n",
        "dispatcher_provider_latency_seconds_bucket{provider=\"smtp-1\",outcome=\"accepted\",le="
        "\"1\"} 5\n",
        "dispatcher_provider_latency_seconds_bucket{provider=\"smtp-1\",outcome=\"accepted\",le=\"+"
        "Inf\"} 6\n",
        "dispatcher_provider_latency_seconds_sum{provider=\"smtp-1\",outcome=\"accepted\"} 4.5\n",
        "dispatcher_provider_latency_seconds_count{provider=\"smtp-1\",outcome=\"accepted\"} 6\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
}

}  // namespace
}  // namespace dispatcher::web
