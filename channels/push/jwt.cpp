#include "channels/push/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdexcept>

#include "channels/error.hpp"
#include "channels/http_util.hpp"
#include "codec/base64.hpp"

namespace dispatcher::channels::push {

PrivateKey load_private_key(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) throw std::runtime_error("out of memory");
  // No passphrase callback would mean OpenSSL's own, which asks the terminal (or stdin when
  // there is none) and so blocks a service on an encrypted key: refuse to decrypt instead.
  auto no_passphrase = [](char*, int, int, void*) { return -1; };
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  if (!key) throw std::runtime_error("not a PEM private key");
  return PrivateKey(key, &EVP_PKEY_free);
}

std::string der_to_raw_p256(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (!sig) return {};
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  const bool ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
  ECDSA_SIG_free(sig);
  return ok ? raw : std::string{};
}

std::string make_jwt(const nlohmann::json& header, const nlohmann::json& claims,
                     const PrivateKey& key, JwtAlg alg, std::error_code& ec) {
  ec.clear();
  auto fail = [&ec](Errc e) {
    ec = make_error_code(e);
    return std::string{};
  };
  const std::string input = base64url(header.dump()) + "." + base64url(claims.dump());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1)
    return fail(Errc::key_cannot_sign);
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1)
    return fail(Errc::signing_failed);
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    return fail(Errc::signing_failed);
  sig.resize(len);
  if (alg == JwtAlg::es256) {
    sig = der_to_raw_p256(sig);
    if (sig.empty()) return fail(Errc::es256_needs_p256);
  }
  return input + "." + base64url(sig);
}

}  // namespace dispatcher::channels::push
