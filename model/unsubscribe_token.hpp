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
#include "config/vocabulary.hpp"

namespace dispatcher {

struct TokenClaims {
  std::string ref;    // opaque subject reference (hex)
  std::string scope;  // the opt-out a one-click POST applies: all, purpose:<p> or channel:<c>
  std::int64_t expires = 0;  // epoch seconds, rounded up to a whole day in the token
  // The channel the link was sent on: the only channel the preference page may record a consent
  // for (anyone holding a forwarded e-mail can open its link, so it proves that mailbox, no
  // other). nullopt for a link made without one (tokens issued before channels were carried).
  std::optional<Channel> channel;
};

// The opaque reference for a subject: stable, keyed, not reversible without Redis.
std::string subject_ref(std::string_view subject, std::string_view secret);

// nullopt for a ref that subject_ref() did not make or a scope no token can carry (tokens are
// made on the event loop, so this is a value, not an exception).
std::optional<std::string> make_token(const TokenClaims& c, std::string_view secret);

// Whether a token can carry `scope`: the scope table is part of the token format (append-only),
// so a policy that adds a marketing purpose needs a new code first (see token_scope_errors()).
bool token_scope_known(std::string_view scope);
inline constexpr const char* kTokenScopeHint =
    "append a code to the scope table in model/unsubscribe_token.cpp";
// Verifies the signature in constant time and the expiry; nullopt when forged, tampered or expired.
std::optional<TokenClaims> verify_token(std::string_view token, std::string_view secret,
                                        TimePoint now);

}  // namespace dispatcher
