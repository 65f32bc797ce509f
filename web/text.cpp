#include "web/text.hpp"

#include <stdexcept>

#include "codec/hex.hpp"
#include "codec/hmac.hpp"
#include "codec/percent.hpp"

namespace dispatcher::web {

std::optional<std::string> url_decode(std::string_view s) { return percent_decode(s, true); }
std::optional<std::string> path_decode(std::string_view s) { return percent_decode(s, false); }

std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!body.empty()) {
    auto amp = body.find('&');
    std::string_view part = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    auto k = url_decode(part.substr(0, eq));
    auto v = url_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    if (!k || !v) return std::nullopt;
    out.emplace_back(std::move(*k), std::move(*v));
  }
  return out;
}

std::pair<std::string, std::map<std::string, std::string>> split_target(std::string_view target) {
  auto q = target.find('?');
  std::pair<std::string, std::map<std::string, std::string>> out{std::string(target.substr(0, q)),
                                                                 {}};
  if (q != std::string_view::npos)
    if (auto form = parse_form(target.substr(q + 1)))
      for (auto& [k, v] : *form) out.second[k] = v;
  return out;
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace dispatcher::web
