#include "web/text.hpp"

#include <openssl/rand.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <stdexcept>

#include "codec/base64.hpp"
#include "codec/hex.hpp"
#include "codec/hmac.hpp"
#include "codec/percent.hpp"

namespace dispatcher::web {

std::optional<std::string> url_decode(std::string_view s) { return percent_decode(s, true); }

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

bool json_too_deep(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

std::string normalise_keyword(std::string_view body) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
  icu::UnicodeString s = icu::UnicodeString::fromUTF8(
      icu::StringPiece(body.data(), static_cast<int32_t>(body.size())));
  if (U_SUCCESS(status)) {
    icu::UnicodeString n = nfkc->normalize(s, status);
    if (U_SUCCESS(status)) s = n;
  }
  s.trim();
  // Trailing punctuation people type ("STOP." "停止。") does not change the meaning.
  while (s.length() > 0) {
    UChar32 last = s.char32At(s.length() - 1);
    if (last == u'.' || last == u'!' || last == u'。' || last == u'！' || last == u'、')
      s.truncate(s.length() - 1);
    else
      break;
  }
  s.trim();
  s.toUpper(icu::Locale::getRoot());
  std::string out;
  s.toUTF8String(out);
  return out;
}

SmsKeyword classify_keyword(std::string_view body) {
  static const char* const stops[] = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL",
                                      "END",  "QUIT",    "停止",        "配信停止"};
  static const char* const starts[] = {"START", "再開", "UNSTOP"};
  const std::string k = normalise_keyword(body);
  for (const char* s : stops)
    if (k == s) return SmsKeyword::stop;
  for (const char* s : starts)
    if (k == s) return SmsKeyword::start;
  return SmsKeyword::none;
}

std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             std::vector<std::pair<std::string, std::string>> params) {
  std::sort(params.begin(), params.end());
  std::string data(url);
  for (const auto& [k, v] : params) data.append(k).append(v);
  return base64(hmac_sha1(auth_token, data));
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("no randomness from OpenSSL");
  return to_hex({reinterpret_cast<const char*>(buf.data()), bytes});
}

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
