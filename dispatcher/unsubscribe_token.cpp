#include "dispatcher/unsubscribe_token.hpp"

#include "dispatcher/digest.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>
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
  // Canonical only: leftover bits must be zero, so one token has exactly one spelling.
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string mac(std::string_view data, std::string_view secret) { return hmac_sha256(secret, data); }

}  // namespace

// Tokens travel in SMS, where every character counts (a Japanese SMS holds 70), so they
// are packed: ref (10 bytes) | scope code (1) | expiry in days since 1970 (2) | HMAC-SHA256
// truncated to 12 bytes (96 bits: RFC 2104 allows truncation to half the output and more).
// That is 25 bytes, 34 characters of base64url.
namespace {

constexpr std::size_t ref_bytes = 10, mac_bytes = 12;

// Scope codes are part of the token format: append only, never reorder.
constexpr std::array<std::string_view, 17> scopes{
    "all",                     "purpose:reservation",   "purpose:coupon_info", "purpose:auth",
    "purpose:support",         "purpose:survey",        "purpose:campaign",    "purpose:recommendation",
    "purpose:points",          "purpose:payment",       "purpose:advertising", "purpose:maintenance",
    "purpose:reward_payout",   "purpose:product_notice", "channel:email",      "channel:sms",
    "channel:push"};

std::optional<std::string> unhex(std::string_view h) {
  if (h.size() % 2) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < h.size(); i += 2) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int a = nib(h[i]), b = nib(h[i + 1]);
    if (a < 0 || b < 0) return std::nullopt;
    out += static_cast<char>(a * 16 + b);
  }
  return out;
}

}  // namespace

std::string subject_ref(std::string_view subject, std::string_view secret) {
  return to_hex(mac(std::string("subject-ref:").append(subject), secret).substr(0, ref_bytes));
}

std::vector<std::string> purposes_without_token_scope(const policy::Policy& p) {
  std::vector<std::string> missing;
  for (std::string_view purpose : p.purposes())
    if (p.is_marketing(purpose) &&
        std::find(scopes.begin(), scopes.end(), "purpose:" + std::string(purpose)) == scopes.end())
      missing.emplace_back(purpose);
  return missing;
}

std::string make_token(const TokenClaims& c, std::string_view secret) {
  auto raw_ref = unhex(c.ref);
  auto code = std::find(scopes.begin(), scopes.end(), c.scope);
  if (!raw_ref || raw_ref->size() != ref_bytes || code == scopes.end())
    throw std::invalid_argument("unsubscribe token: bad ref or scope " + c.scope);
  const auto days = static_cast<std::uint32_t>(std::max<std::int64_t>(0, (c.expires + 86399) / 86400));
  std::string payload = *raw_ref;
  payload += static_cast<char>(code - scopes.begin());
  payload += static_cast<char>((days >> 8) & 0xff);
  payload += static_cast<char>(days & 0xff);
  return encode(payload + mac("unsubscribe:" + payload, secret).substr(0, mac_bytes));
}

std::optional<TokenClaims> verify_token(std::string_view token, std::string_view secret, TimePoint now) {
  if (token.size() > 64) return std::nullopt;
  auto raw = decode(token);
  if (!raw || raw->size() != ref_bytes + 3 + mac_bytes) return std::nullopt;
  const std::string payload = raw->substr(0, ref_bytes + 3);
  const std::string expected = mac("unsubscribe:" + payload, secret).substr(0, mac_bytes);
  if (CRYPTO_memcmp(raw->data() + payload.size(), expected.data(), mac_bytes) != 0) return std::nullopt;
  const auto code = static_cast<unsigned char>(payload[ref_bytes]);
  if (code >= scopes.size()) return std::nullopt;
  TokenClaims c;
  c.ref = to_hex(payload.substr(0, ref_bytes));
  c.scope = std::string(scopes[code]);
  const std::uint32_t days = (static_cast<unsigned char>(payload[ref_bytes + 1]) << 8) |
                             static_cast<unsigned char>(payload[ref_bytes + 2]);
  c.expires = static_cast<std::int64_t>(days) * 86400;
  if (to_epoch_ms(now) / 1000 >= c.expires) return std::nullopt;
  return c;
}

}  // namespace dispatcher
