#include "dispatcher/provider_latency.hpp"

#include <charconv>

namespace dispatcher::latency {

std::size_t bucket_of(std::chrono::microseconds d) {
  const double s = static_cast<double>(d.count()) / 1e6;
  std::size_t i = 0;
  while (i < bounds.size() && s > bounds[i]) ++i;
  return i;
}

std::string bucket_field(std::string_view provider, std::string_view outcome, std::size_t bucket) {
  std::string f = "latency\t";
  f.append(provider).append("\t").append(outcome).append("\t").append(std::to_string(bucket));
  return f;
}

std::string sum_field(std::string_view provider, std::string_view outcome) {
  std::string f = "latency_us\t";
  f.append(provider).append("\t").append(outcome);
  return f;
}

std::optional<Field> parse_field(std::string_view field) {
  auto next = [&field]() {
    const auto tab = field.find('\t');
    std::string_view part = field.substr(0, tab);
    field = tab == std::string_view::npos ? std::string_view{} : field.substr(tab + 1);
    return part;
  };
  const std::string_view kind = next();
  if (kind != "latency" && kind != "latency_us") return std::nullopt;
  Field f;
  f.provider = std::string(next());
  f.outcome = std::string(next());
  if (f.provider.empty() || f.outcome.empty()) return std::nullopt;
  if (kind == "latency_us") return field.empty() ? std::optional<Field>(f) : std::nullopt;
  const std::string_view idx = next();
  std::size_t b = 0;
  auto [p, ec] = std::from_chars(idx.data(), idx.data() + idx.size(), b);
  if (ec != std::errc{} || p != idx.data() + idx.size() || b > bounds.size() || !field.empty())
    return std::nullopt;
  f.bucket = b;
  return f;
}

}  // namespace dispatcher::latency
