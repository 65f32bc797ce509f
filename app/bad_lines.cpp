#include "app/bad_lines.hpp"

#include <algorithm>
#include <cstdio>

namespace dispatcher::verbs {

std::string readable_id(std::string_view line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return {};
  auto it = j.find("id");
  if (it == j.end() || !it->is_string()) return {};
  const auto& id = it->get_ref<const std::string&>();
  const bool printable =
      !id.empty() && id.size() <= 200 &&
      std::all_of(id.begin(), id.end(), [](char c) { return c > ' ' && c < 127; });
  return printable ? id : std::string();
}

void report(const BadLine& b) {
  std::fprintf(stderr, "line %zu: %s %s: %s\n", b.line, b.id.empty() ? "-" : b.id.c_str(),
               b.reason.c_str(), b.detail.c_str());
}

nlohmann::json explain_json(const BadLine& b) {
  return {{"line", b.line},
          {"id", b.id.empty() ? nlohmann::json(nullptr) : nlohmann::json(b.id)},
          {"decision", "deny"},
          {"reason", b.reason},
          {"dead_letter", true}};
}

}  // namespace dispatcher::verbs
