#include "channels/email/mime.hpp"

#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <ctime>

#include "codec/base64.hpp"
#include "codec/hex.hpp"
#include "codec/hmac.hpp"

namespace dispatcher::channels::email {

namespace {

constexpr std::size_t max_line = 76;

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

std::string strip_crlf(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    if (c != '\r' && c != '\n') out += c;
  return out;
}

// Length of the UTF-8 sequence starting with byte `b` (1 for stray continuation bytes).
std::size_t utf8_len(unsigned char b) {
  if (b < 0x80) return 1;
  if ((b >> 5) == 0x6) return 2;
  if ((b >> 4) == 0xE) return 3;
  if ((b >> 3) == 0x1E) return 4;
  return 1;
}

// Text with every line break as CRLF (the canonical form of text/* before base64).
std::string to_crlf(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 32);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += "\r\n";
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else if (s[i] == '\n') {
      out += "\r\n";
    } else {
      out += s[i];
    }
  }
  return out;
}

// Encoded-words for `utf8`, the first line already holding `used` characters.
std::string encoded_words(std::string_view utf8, std::size_t used) {
  static constexpr std::string_view open = "=?UTF-8?B?", close = "?=";
  std::string out;
  std::size_t pos = 0, line = used;
  bool first = true;
  while (pos < utf8.size()) {
    if (!first) {
      out += "\r\n ";
      line = 1;
    }
    // Room for base64 text on this line, in whole quanta of 4 (3 bytes each); a word ≤ 75.
    std::size_t room = std::min<std::size_t>(max_line - line, 75) - open.size() - close.size();
    std::size_t bytes = room / 4 * 3;
    if (bytes < 4 && first) {  // no room on the first line: start on the next
      first = false;
      continue;
    }
    std::size_t end = pos;
    while (end < utf8.size()) {
      std::size_t n = utf8_len(static_cast<unsigned char>(utf8[end]));
      if (end + n > utf8.size()) n = utf8.size() - end;
      if (end + n - pos > bytes) break;
      end += n;
    }
    if (end == pos) end = pos + std::min(bytes, utf8.size() - pos);  // cannot happen with bytes ≥ 4
    const std::string word =
        std::string(open) + base64(utf8.substr(pos, end - pos)) + std::string(close);
    out += word;
    line += word.size();
    pos = end;
    first = false;
  }
  return out;
}

// ASCII text folded at spaces so that lines stay ≤ 76 where possible (≤ 998 always).
std::string fold_ascii(std::string_view s, std::size_t used) {
  std::string out;
  std::size_t line = used, pos = 0;
  bool first = true;
  while (pos <= s.size()) {
    const std::size_t sp = std::min(s.find(' ', pos), s.size());
    const std::string_view word = s.substr(pos, sp - pos);
    if (first) {
      out += word;
      line += word.size();
    } else if (line + 1 + word.size() > max_line && !word.empty()) {
      out += "\r\n ";
      out += word;
      line = 1 + word.size();
    } else {
      out += ' ';
      out += word;
      line += 1 + word.size();
    }
    first = false;
    pos = sp + 1;
  }
  return out;
}

bool atext(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-/=?^_`{|}~ ").find(c) != std::string_view::npos;
}

bool valid_address(std::string_view a) {
  if (a.empty() || a.size() > 254) return false;
  const auto at = a.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == a.size() || at > 64) return false;
  for (unsigned char c : a)
    if (c <= 0x20 || c >= 0x7F || c == '<' || c == '>' || c == '"' || c == '(' || c == ')' ||
        c == ',' || c == ';' || c == '\\')
      return false;
  return true;
}

}  // namespace

std::string base64_lines(std::string_view bytes, std::size_t width) {
  const std::string flat = base64(bytes);
  std::string out;
  out.reserve(flat.size() + flat.size() / width * 2 + 2);
  for (std::size_t i = 0; i < flat.size(); i += width) {
    out.append(flat, i, width);
    out += "\r\n";
  }
  return out;
}

std::string encode_unstructured(std::string_view text, std::size_t used) {
  const std::string s = strip_crlf(text);
  if (is_ascii(s)) return fold_ascii(s, used);
  return encoded_words(s, used);
}

std::string format_mailbox(std::string_view display_name, std::string_view address,
                           std::size_t used) {
  const std::string name = strip_crlf(display_name);
  const std::string addr = "<" + strip_crlf(address) + ">";
  if (name.empty()) return addr;
  std::string phrase;
  if (!is_ascii(name)) {
    phrase = encoded_words(name, used);
  } else {
    bool plain = true;
    for (char c : name) plain = plain && atext(c);
    if (plain) {
      phrase = name;
    } else {
      phrase = "\"";
      for (char c : name) {
        if (c == '"' || c == '\\') phrase += '\\';
        phrase += c;
      }
      phrase += '"';
    }
  }
  const auto last_nl = phrase.rfind('\n');
  const std::size_t last_line =
      last_nl == std::string::npos ? used + phrase.size() : phrase.size() - last_nl - 1;
  if (last_line + 1 + addr.size() > max_line) return phrase + "\r\n " + addr;
  return phrase + " " + addr;
}

std::string format_date(std::chrono::system_clock::time_point t, int utc_offset_minutes) {
  const std::time_t secs =
      std::chrono::system_clock::to_time_t(t) + static_cast<std::time_t>(utc_offset_minutes) * 60;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static constexpr std::array<const char*, 7> days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int off = utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d %c%02d%02d", days[tm.tm_wday],
                tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                utc_offset_minutes < 0 ? '-' : '+', off / 60, off % 60);
  return buf;
}

std::optional<std::string> validate(const Mail& m) {
  if (!valid_address(m.from_address)) return "invalid From address";
  if (!valid_address(m.to)) return "invalid To address";
  if (m.text.empty() && m.html.empty()) return "empty body";
  if (m.marketing) {
    if (m.unsubscribe_url.rfind("https://", 0) != 0)
      return "marketing e-mail needs an https unsubscribe URL";
    for (char c : m.unsubscribe_url + m.unsubscribe_mailto)
      if (static_cast<unsigned char>(c) <= 0x20 || c == '<' || c == '>' || c == ',')
        return "invalid unsubscribe URI";
  }
  return std::nullopt;
}

std::string message_id_unique(std::string_view sender, std::string_view id) {
  std::string pair(sender);
  pair.append(" ").append(id);
  return to_hex(sha256(pair).substr(0, 16));
}

BuiltMessage build_message(const Mail& m, std::chrono::system_clock::time_point now,
                           int utc_offset_minutes, std::string_view unique,
                           std::string_view domain) {
  BuiltMessage out;
  out.message_id = "<" + std::string(unique) + "@" + std::string(domain) + ">";
  const std::string boundary = "=_alt_" + std::string(unique);  // "=_" never occurs in base64 or QP
  std::string& d = out.data;
  d.reserve(m.text.size() * 2 + m.html.size() * 2 + 1024);
  d += "Date: " + format_date(now, utc_offset_minutes) + "\r\n";
  d += "Message-ID: " + out.message_id + "\r\n";
  d += "From: " + format_mailbox(m.from_name, m.from_address, 6) + "\r\n";
  d += "To: " + format_mailbox({}, m.to, 4) + "\r\n";
  d += "Subject: " + encode_unstructured(m.subject, 9) + "\r\n";
  if (m.marketing) {
    std::string mailto = strip_crlf(m.unsubscribe_mailto);
    if (!mailto.empty() && mailto.rfind("mailto:", 0) != 0) mailto = "mailto:" + mailto;
    d += "List-Unsubscribe: <" + strip_crlf(m.unsubscribe_url) + ">";
    if (!mailto.empty()) d += ",\r\n <" + mailto + ">";
    d += "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
  }
  d += "MIME-Version: 1.0\r\n";
  auto leaf = [&](std::string_view type, std::string_view body) {
    d += "Content-Type: " + std::string(type) + "; charset=UTF-8\r\n";
    d += "Content-Transfer-Encoding: base64\r\n\r\n";
    d += base64_lines(to_crlf(body));
  };
  if (!m.text.empty() && !m.html.empty()) {
    d += "Content-Type: multipart/alternative;\r\n boundary=\"" + boundary + "\"\r\n\r\n";
    d += "--" + boundary + "\r\n";
    leaf("text/plain", m.text);
    d += "--" + boundary + "\r\n";
    leaf("text/html", m.html);
    d += "--" + boundary + "--\r\n";
  } else if (!m.html.empty()) {
    leaf("text/html", m.html);
  } else {
    leaf("text/plain", m.text);
  }
  return out;
}

}  // namespace dispatcher::channels::email
