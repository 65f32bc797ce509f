#include "model/unsubscribe_token.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "codec/base64.hpp"
#include "codec/hex.hpp"
#include "codec/hmac.hpp"

namespace dispatcher {

namespace {

std::string mac(std::string_view data, std::string_view secret) {
  return hmac_sha256(secret, data);
}

}  // namespace

// Tokens travel in SMS, where every character counts (a Japanese SMS holds 70), so they
// are packed: ref (10 bytes) | scope code (low 5 bits) and channel code (high 3 bits) in one
// byte | expiry in days since 1970 (2) | HMAC-SHA256 truncated to 12 bytes (96 bits: RFC 2104
// allows truncation to half the output and more). That is 25 bytes, 34 characters of
// base64url. Channel code 0 means "none", so tokens made before the channel was carried still
// verify, as links that may grant no consent.
namespace {

constexpr std::size_t ref_bytes = 10, mac_bytes = 12;
constexpr unsigned scope_bits = 5, scope_mask = (1u << scope_bits) - 1;

// Scope codes are part of the token format: append only, never reorder.
constexpr std::array<std::string_view, 17> scopes{"all",
                                                  "purpose:reservation",
                                                  "purpose:coupon_info",
                                                  "purpose:auth",
                                                  "purpose:support",
                                                  "purpose:survey",
                                                  "purpose:campaign",
                                                  "purpose:recommendation",
                                                  "purpose:points",
                                                  "purpose:payment",
                                                  "purpose:advertising",
                                                  "purpose:maintenance",
                                                  "purpose:reward_payout",
                                                  "purpose:product_notice",
                                                  "channel:email",
                                                  "channel:sms",
                                                  "channel:push"};
static_assert(scopes.size() <= scope_mask + 1, "the scope code has 5 bits");
static_assert(channel_count < (1u << (8 - scope_bits)), "the channel code has 3 bits");

// 0: no channel; otherwise 1 + the channel's index (config/vocabulary.hpp's order, append only).
unsigned channel_code(const std::optional<Channel>& c) { return c ? 1 + index(*c) : 0; }
}  // namespace

std::string subject_ref(std::string_view subject, std::string_view secret) {
  return to_hex(mac(std::string("subject-ref:").append(subject), secret).substr(0, ref_bytes));
}

bool token_scope_known(std::string_view scope) {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

std::optional<std::string> make_token(const TokenClaims& c, std::string_view secret) {
  auto raw_ref = from_hex(c.ref);
  auto code = std::find(scopes.begin(), scopes.end(), c.scope);
  if (!raw_ref || raw_ref->size() != ref_bytes || code == scopes.end()) return std::nullopt;
  const auto days =
      static_cast<std::uint32_t>(std::max<std::int64_t>(0, (c.expires + 86399) / 86400));
  std::string payload = *raw_ref;
  payload += static_cast<char>(static_cast<unsigned>(code - scopes.begin()) |
                               (channel_code(c.channel) << scope_bits));
  payload += static_cast<char>((days >> 8) & 0xff);
  payload += static_cast<char>(days & 0xff);
  return base64url(payload + mac("unsubscribe:" + payload, secret).substr(0, mac_bytes));
}

std::optional<TokenClaims> verify_token(std::string_view token, std::string_view secret,
                                        TimePoint now) {
  if (token.size() > 64) return std::nullopt;
  auto raw = base64url_decode(token);
  if (!raw || raw->size() != ref_bytes + 3 + mac_bytes) return std::nullopt;
  const std::string payload = raw->substr(0, ref_bytes + 3);
  const std::string expected = mac("unsubscribe:" + payload, secret).substr(0, mac_bytes);
  if (CRYPTO_memcmp(raw->data() + payload.size(), expected.data(), mac_bytes) != 0)
    return std::nullopt;
  const auto byte = static_cast<unsigned char>(payload[ref_bytes]);
  const unsigned code = byte & scope_mask, channel = byte >> scope_bits;
  if (code >= scopes.size() || channel > channel_count) return std::nullopt;
  TokenClaims c;
  c.ref = to_hex(payload.substr(0, ref_bytes));
  c.scope = std::string(scopes[code]);
  if (channel != 0) c.channel = all_channels[channel - 1];
  const std::uint32_t days = (static_cast<unsigned char>(payload[ref_bytes + 1]) << 8) |
                             static_cast<unsigned char>(payload[ref_bytes + 2]);
  c.expires = static_cast<std::int64_t>(days) * 86400;
  if (to_epoch_ms(now) / 1000 >= c.expires) return std::nullopt;
  return c;
}

}  // namespace dispatcher
