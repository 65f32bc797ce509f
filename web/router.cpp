#include "web/router.hpp"

#include <stdexcept>
#include <string>

namespace dispatcher::web {

namespace http = boost::beast::http;

std::vector<std::string_view> path_segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
  }
  return out;
}

Router::Router(std::span<const Route> routes) {
  for (const Route& r : routes) {
    const std::string where(r.pattern);
    if (r.pattern.empty() || r.pattern.front() != '/' || !r.handler)
      throw std::invalid_argument("route " + where + ": a pattern starts with / and has a handler");
    Pattern* p = nullptr;
    for (auto& existing : patterns_)
      if (existing.text == r.pattern) p = &existing;
    if (!p) {
      Pattern fresh{r.pattern, {}, {}};
      for (std::string_view s : path_segments(r.pattern)) {
        const bool capture = s.size() > 2 && s.front() == '{' && s.back() == '}';
        if (!capture && (s.find('{') != s.npos || s.find('}') != s.npos))
          throw std::invalid_argument("route " + where + ": a capture is a whole segment, {name}");
        fresh.segments.push_back({capture ? s.substr(1, s.size() - 2) : s, capture});
      }
      patterns_.push_back(std::move(fresh));
      p = &patterns_.back();
    }
    for (const Route* other : p->routes) {
      if (other->method != r.method) continue;
      const auto method = http::to_string(r.method);
      throw std::invalid_argument("route " + where + " is listed twice for " +
                                  std::string(method.data(), method.size()));
    }
    p->routes.push_back(&r);
  }
}

Router::Match Router::match(http::verb method, std::string_view path) const {
  const auto segs = path_segments(path);
  const Pattern* best = nullptr;
  // Compares two patterns that both match: the first segment where one is literal and the
  // other a capture decides.
  auto more_literal = [](const Pattern& a, const Pattern& b) {
    for (std::size_t i = 0; i < a.segments.size(); ++i)
      if (a.segments[i].capture != b.segments[i].capture) return !a.segments[i].capture;
    return false;
  };
  for (const Pattern& p : patterns_) {
    if (p.segments.size() != segs.size()) continue;
    bool ok = true;
    for (std::size_t i = 0; ok && i < segs.size(); ++i)
      ok = p.segments[i].capture || p.segments[i].text == segs[i];
    if (ok && (!best || more_literal(p, *best))) best = &p;
  }
  Match m;
  if (!best) return m;
  m.label = best->text;
  for (std::size_t i = 0; i < segs.size(); ++i)
    if (best->segments[i].capture) m.params.emplace_back(segs[i]);
  for (const Route* r : best->routes) {
    if (r->method == method) {
      m.route = r;
      m.allow.clear();
      return m;
    }
    const auto name = http::to_string(r->method);
    m.allow.append(m.allow.empty() ? "" : ", ").append(name.data(), name.size());
  }
  return m;
}

}  // namespace dispatcher::web
