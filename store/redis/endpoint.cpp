#include "store/redis/endpoint.hpp"

#include <charconv>

namespace dispatcher::redis {

namespace {

bool to_int(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view url) {
  Endpoint e;
  if (url.rfind("unix://", 0) == 0) {
    std::string_view rest = url.substr(7);
    if (auto q = rest.find("?db="); q != std::string_view::npos) {
      if (!to_int(rest.substr(q + 4), e.db)) return std::nullopt;
      rest = rest.substr(0, q);
    }
    if (rest.empty() || rest.front() != '/') return std::nullopt;
    e.socket_path = std::string(rest);
    return e;
  }
  if (url.rfind("redis://", 0) != 0) return std::nullopt;
  std::string_view rest = url.substr(8);
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view auth = rest.substr(0, at);
    if (auto colon = auth.find(':'); colon != std::string_view::npos) auth = auth.substr(colon + 1);
    e.password = std::string(auth);
    rest = rest.substr(at + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (slash + 1 < rest.size() && !to_int(rest.substr(slash + 1), e.db)) return std::nullopt;
    rest = rest.substr(0, slash);
  }
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    if (!to_int(rest.substr(colon + 1), e.port) || e.port <= 0 || e.port > 65535)
      return std::nullopt;
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return std::nullopt;
  e.host = std::string(rest);
  return e;
}

}  // namespace dispatcher::redis
