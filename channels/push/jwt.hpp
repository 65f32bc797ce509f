// JSON Web Tokens signed with OpenSSL: RS256 (FCM's service-account assertion) and ES256
// (APNs provider tokens, the signature as raw R||S, not DER).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <system_error>

typedef struct evp_pkey_st EVP_PKEY;

namespace dispatcher::channels::push {

using PrivateKey = std::shared_ptr<EVP_PKEY>;

// Reads a PEM private key (PKCS#8 "BEGIN PRIVATE KEY", RSA or EC). Throws std::runtime_error,
// also for an encrypted key (no passphrase is ever asked for).
PrivateKey load_private_key(std::string_view pem);

enum class JwtAlg { rs256, es256 };

// header.claims.signature, base64url without padding. Signing happens on the event loop, so a
// failure (a wrong key type, which only a misconfiguration can cause) is a value: `ec` is set
// (channels::Errc) and the result is empty.
std::string make_jwt(const nlohmann::json& header, const nlohmann::json& claims,
                     const PrivateKey& key, JwtAlg alg, std::error_code& ec);

// DER ECDSA-Sig-Value → 64-byte R||S (each zero-padded to 32 bytes); empty on bad input.
std::string der_to_raw_p256(std::string_view der);

}  // namespace dispatcher::channels::push
