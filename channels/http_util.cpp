#include "channels/http_util.hpp"

#include <array>
#include <cctype>
#include <ctime>

#include "codec/percent.hpp"

namespace dispatcher::channels {

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view v, std::chrono::system_clock::time_point now) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\r' || v.back() == '\n'))
    v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  bool digits = true;
  for (char c : v) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) {
    if (v.size() > 9) return std::chrono::hours(24 * 365);  // absurdly large: a year
    return std::chrono::seconds(std::stol(std::string(v)));
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  std::tm tm{};
  const std::string s(v);
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  const auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
  if (when <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += percent_encode(k) + "=" + percent_encode(v);
  }
  return out;
}

std::string url_scheme(std::string_view url) {
  const auto p = url.find("://");
  if (p == std::string_view::npos) return {};
  std::string s(url.substr(0, p));
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string url_host(std::string_view url) {
  auto p = url.find("://");
  if (p == std::string_view::npos) return {};
  std::string_view rest = url.substr(p + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  std::string host;
  if (!rest.empty() && rest.front() == '[') {
    host = std::string(rest.substr(1, rest.find(']') - 1));
  } else {
    host = std::string(rest.substr(0, rest.find(':')));
  }
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  if (host.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.')
      ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  }
  return dots == 3;
}

std::string redact(std::string_view text, std::size_t max) {
  std::string out;
  std::size_t i = 0;
  auto is_sep = [](char c) {
    return c == ' ' || c == '\t' || c == ',' || c == ';' || c == '"' || c == '\'';
  };
  while (i < text.size() && out.size() < max) {
    if (is_sep(text[i])) {
      out += text[i++];
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && !is_sep(text[j])) ++j;
    std::string_view word = text.substr(i, j - i);
    if (word.find('@') != std::string_view::npos) {
      out += "<address>";
    } else {
      std::size_t k = 0;
      while (k < word.size()) {
        if (std::isdigit(static_cast<unsigned char>(word[k]))) {
          std::size_t e = k;
          while (e < word.size() && std::isdigit(static_cast<unsigned char>(word[e]))) ++e;
          if (e - k >= 7) {
            if (!out.empty() && out.back() == '+') out.pop_back();
            out += "<number>";
          } else {
            out.append(word.substr(k, e - k));
          }
          k = e;
        } else {
          out += word[k++];
        }
      }
    }
    i = j;
  }
  if (out.size() > max) out.resize(max);
  return out;
}

bool is_e164(std::string_view n) {
  if (n.size() < 3 || n.size() > 16 || n[0] != '+' || n[1] == '0') return false;
  for (char c : n.substr(1))
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace dispatcher::channels
