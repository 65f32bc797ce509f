// Provider latency, shared between the consumers (which time each send and add it to the
// stats hash with the batch's other counters) and `serve` (which renders it as a Prometheus
// histogram). The stats hash is the only channel between them, so its field names live here.
//
// Fields: "latency\t<provider>\t<outcome>\t<bucket>" → sends in that bucket (not cumulative),
//         "latency_us\t<provider>\t<outcome>"        → sum of their latencies in microseconds.
// Provider names come from config and outcomes are accepted|transient|permanent: no personal data.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dispatcher::latency {

// Upper bounds in seconds; a last, implicit bucket is +Inf.
inline constexpr std::array<double, 14> bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                               0.25,  0.5,    1.0,   2.5,  5.0,   10.0, 30.0};

// Index of the bucket `d` falls in (bounds.size() for +Inf).
std::size_t bucket_of(std::chrono::microseconds d);

std::string bucket_field(std::string_view provider, std::string_view outcome, std::size_t bucket);
std::string sum_field(std::string_view provider, std::string_view outcome);

// A stats field read back: which series, and either a bucket index or the sum.
struct Field {
  std::string provider, outcome;
  std::optional<std::size_t> bucket;  // nullopt: the sum in microseconds
};
std::optional<Field> parse_field(std::string_view field);

}  // namespace dispatcher::latency
