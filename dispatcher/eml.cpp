#include "dispatcher/eml.hpp"

#include <ctime>

namespace dispatcher {

namespace {
std::string b64(std::string_view in) {
  static constexpr char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}
std::string body(std::string_view s) {
  std::string enc = b64(s), out;
  for (std::size_t i = 0; i < enc.size(); i += 76) out += enc.substr(i, 76) + "\r\n";
  return out;
}
}  // namespace

std::string render_eml(const channels::Envelope& e) {
  std::string m;
  m += "From: =?UTF-8?B?" + b64(e.from_name) + "?= <" + e.from_address + ">\r\n";
  m += "To: <" + e.to + ">\r\n";
  m += "Subject: =?UTF-8?B?" + b64(e.subject) + "?=\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/alternative; boundary=\"=_b\"\r\n\r\n";
  m += "--=_b\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body(e.text);
  m += "--=_b\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body(e.html);
  m += "--=_b--\r\n";
  return m;
}

}  // namespace dispatcher
