// Signed, expiring unsubscribe tokens (HMAC-SHA256). The token names an opaque reference
// (a keyed hash of the subject, resolved through Redis) and a scope; no address, name or
// member id can be read from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/clock.hpp"
#include "dispatcher/policy/policy.hpp"

namespace dispatcher {

struct TokenClaims {
  std::string ref;    // opaque subject reference (hex)
  std::string scope;  // the opt-out a one-click POST applies: all, purpose:<p> or channel:<c>
  std::int64_t expires = 0;  // epoch seconds, rounded up to a whole day in the token
};

// The opaque reference for a subject: stable, keyed, not reversible without Redis.
std::string subject_ref(std::string_view subject, std::string_view secret);

// Throws std::invalid_argument for a ref that subject_ref() did not make or an unknown scope.
std::string make_token(const TokenClaims& c, std::string_view secret);

// The marketing purposes of `p` a token cannot name: the scope table is part of the token format
// (append-only), so a policy that adds a marketing purpose needs a new code first. Runtime and
// `check` refuse such a policy, so sending never meets a purpose without one.
std::vector<std::string> purposes_without_token_scope(const policy::Policy& p);
inline constexpr const char* kTokenScopeHint = "append a code to the scope table in dispatcher/unsubscribe_token.cpp";
// Verifies the signature in constant time and the expiry; nullopt when forged, tampered or expired.
std::optional<TokenClaims> verify_token(std::string_view token, std::string_view secret, TimePoint now);

}  // namespace dispatcher
