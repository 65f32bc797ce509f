#include "dispatcher/unsubscribe_token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <cstring>

namespace dispatcher {

namespace {

constexpr char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += {b64url[v >> 18], b64url[(v >> 12) & 63], b64url[(v >> 6) & 63], b64url[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {b64url[v >> 18], b64url[(v >> 12) & 63]};
  } else if (i + 2 == in.size()) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {b64url[v >> 18], b64url[(v >> 12) & 63], b64url[(v >> 6) & 63]};
  }
  return out;
}

std::optional<std::string> decode(std::string_view in) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char ch : in) {
    const char* p = static_cast<const char*>(std::memchr(b64url, ch, 64));
    if (!p || ch == '\0') return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(p - b64url);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string mac(std::string_view data, std::string_view secret) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace

std::string subject_ref(std::string_view subject, std::string_view secret) {
  std::string m = mac(std::string("subject-ref:").append(subject), secret);
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (std::size_t i = 0; i < 16; ++i) hex += {digits[static_cast<unsigned char>(m[i]) >> 4], digits[m[i] & 15]};
  return hex;
}

std::string make_token(const TokenClaims& c, std::string_view secret) {
  std::string payload = c.ref + "|" + c.scope + "|" + std::to_string(c.expires);
  return encode(payload) + "." + encode(mac("unsubscribe:" + payload, secret));
}

std::optional<TokenClaims> verify_token(std::string_view token, std::string_view secret, TimePoint now) {
  if (token.size() > 512) return std::nullopt;
  auto dot = token.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto payload = decode(token.substr(0, dot));
  auto sig = decode(token.substr(dot + 1));
  if (!payload || !sig) return std::nullopt;
  std::string expected = mac("unsubscribe:" + *payload, secret);
  if (sig->size() != expected.size() || CRYPTO_memcmp(sig->data(), expected.data(), expected.size()) != 0)
    return std::nullopt;
  auto a = payload->find('|');
  auto b = payload->rfind('|');
  if (a == std::string::npos || b == a) return std::nullopt;
  TokenClaims c;
  c.ref = payload->substr(0, a);
  c.scope = payload->substr(a + 1, b - a - 1);
  auto exp = std::string_view(*payload).substr(b + 1);
  if (std::from_chars(exp.data(), exp.data() + exp.size(), c.expires).ec != std::errc()) return std::nullopt;
  if (to_epoch_ms(now) / 1000 >= c.expires) return std::nullopt;
  return c;
}

}  // namespace dispatcher
