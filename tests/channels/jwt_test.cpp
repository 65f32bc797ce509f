#include "channels/push/jwt.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "channels/error.hpp"
#include "codec/base64.hpp"

namespace dispatcher::channels::push {
namespace {

using nlohmann::json;

// Keys made here with OpenSSL's own generators, written as the PKCS#8 PEM a key file holds.
PrivateKey generate_ec(const char* curve = "P-256") {
  return PrivateKey(EVP_EC_gen(curve), &EVP_PKEY_free);
}
PrivateKey generate_rsa() { return PrivateKey(EVP_RSA_gen(2048), &EVP_PKEY_free); }

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}
std::string private_pem(const PrivateKey& key, const char* passphrase = nullptr) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  const EVP_CIPHER* cipher = passphrase ? EVP_aes_256_cbc() : nullptr;
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), cipher, passphrase,
                                    passphrase ? static_cast<int>(std::strlen(passphrase)) : 0,
                                    nullptr, nullptr) != 1)
    throw std::runtime_error("PEM_write_bio_PKCS8PrivateKey");
  return bio_text(bio.get());
}
std::string public_pem(const PrivateKey& key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) throw std::runtime_error("PUBKEY");
  return bio_text(bio.get());
}

// base64url without padding, decoded by OpenSSL's block decoder (not by the codec under test).
std::string b64url_decode(std::string s) {
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  const std::size_t pad = (4 - s.size() % 4) % 4;
  s.append(pad, '=');
  std::string out(s.size() / 4 * 3, '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) throw std::runtime_error("not base64url: " + s);
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::vector<std::string> split_jwt(const std::string& jwt) {
  std::vector<std::string> parts(1);
  for (char c : jwt) {
    if (c == '.')
      parts.emplace_back();
    else
      parts.back() += c;
  }
  return parts;
}

// Verifies `sig` over `data` with the public half of `key` (DER ECDSA or PKCS#1 v1.5 RSA).
bool verify(const PrivateKey& key, const std::string& data, const std::string& sig) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

// Raw R||S (JWS ES256) → DER ECDSA-Sig-Value, for OpenSSL's verifier.
std::string raw_to_der(const std::string& raw) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  ECDSA_SIG_set0(sig, BN_bin2bn(p, 32, nullptr), BN_bin2bn(p + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int n = i2d_ECDSA_SIG(sig, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

// make_jwt that must succeed.
std::string sign(const json& header, const json& claims, const PrivateKey& key, JwtAlg alg) {
  std::error_code ec;
  std::string jwt = make_jwt(header, claims, key, alg, ec);
  EXPECT_FALSE(ec) << ec.message();
  return jwt;
}

const json apns_header = {{"alg", "ES256"}, {"kid", "ABC123DEFG"}};
const json apns_claims = {{"iss", "DEF123GHIJ"}, {"iat", 1796000400}};

TEST(Jwt, Es256WithAP256KeyVerifiesAsRawRAndS) {
  const PrivateKey generated = generate_ec();
  const PrivateKey key = load_private_key(private_pem(generated));
  const std::string jwt = sign(apns_header, apns_claims, key, JwtAlg::es256);
  const auto parts = split_jwt(jwt);
  ASSERT_EQ(parts.size(), 3u) << jwt;
  EXPECT_EQ(jwt.find_first_of("+/="), std::string::npos) << "base64url without padding";
  EXPECT_EQ(json::parse(b64url_decode(parts[0])), apns_header);
  EXPECT_EQ(json::parse(b64url_decode(parts[1])), apns_claims);
  const std::string sig = b64url_decode(parts[2]);
  ASSERT_EQ(sig.size(), 64u) << "R||S, not DER";
  const std::string signed_part = parts[0] + "." + parts[1];
  EXPECT_TRUE(verify(generated, signed_part, raw_to_der(sig)));
  // The check can fail: the same signature does not cover other claims.
  const json other = {{"iss", "DEF123GHIJ"}, {"iat", 1796000401}};
  const std::string forged = parts[0] + "." + base64url(other.dump());
  EXPECT_FALSE(verify(generated, forged, raw_to_der(sig)));
  // Nor does another key's public half verify it.
  EXPECT_FALSE(verify(generate_ec(), signed_part, raw_to_der(sig)));
}

TEST(Jwt, Es256SignaturesAreFreshEachTimeAndAllVerify) {
  const PrivateKey key = generate_ec();
  std::string previous;
  for (int i = 0; i < 20; ++i) {  // ~1 in 128 signatures has a short R or S: padding is exercised
    const auto parts = split_jwt(sign(apns_header, apns_claims, key, JwtAlg::es256));
    ASSERT_EQ(parts.size(), 3u);
    const std::string sig = b64url_decode(parts[2]);
    ASSERT_EQ(sig.size(), 64u);
    EXPECT_TRUE(verify(key, parts[0] + "." + parts[1], raw_to_der(sig))) << i;
    EXPECT_NE(sig, previous) << "ECDSA uses a new nonce for every signature";
    previous = sig;
  }
}

TEST(Jwt, Rs256WithAnRsaKeyVerifies) {
  const PrivateKey generated = generate_rsa();
  const PrivateKey key = load_private_key(private_pem(generated));
  const json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "kid-1"}};
  const json claims = {{"iss", "dispatcher@demo-project.iam.gserviceaccount.com"},
                       {"scope", "https://www.googleapis.com/auth/firebase.messaging"},
                       {"aud", "https://oauth2.googleapis.com/token"},
                       {"iat", 1796000400},
                       {"exp", 1796004000}};
  const std::string jwt = sign(header, claims, key, JwtAlg::rs256);
  const auto parts = split_jwt(jwt);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(jwt.find_first_of("+/="), std::string::npos);
  EXPECT_EQ(json::parse(b64url_decode(parts[0])), header);
  EXPECT_EQ(json::parse(b64url_decode(parts[1])), claims);
  const std::string sig = b64url_decode(parts[2]);
  EXPECT_EQ(sig.size(), 256u) << "a 2048-bit RSA signature";
  EXPECT_TRUE(verify(generated, parts[0] + "." + parts[1], sig));
  EXPECT_FALSE(verify(generated, parts[0] + "." + parts[0], sig));
  EXPECT_EQ(sign(header, claims, key, JwtAlg::rs256), jwt) << "PKCS#1 v1.5 is deterministic";
}

TEST(Jwt, Es256WithAKeyThatIsNotP256IsAnErrorValue) {
  const json h = {{"alg", "ES256"}};
  std::error_code ec;
  EXPECT_EQ(make_jwt(h, apns_claims, generate_rsa(), JwtAlg::es256, ec), "");
  EXPECT_TRUE(ec);
  EXPECT_EQ(kind_of(ec), ErrorKind::client) << "our configuration: never retried";
  ec.clear();
  EXPECT_EQ(make_jwt(h, apns_claims, generate_ec("P-384"), JwtAlg::es256, ec), "");
  EXPECT_EQ(ec, make_error_code(Errc::es256_needs_p256));
}

TEST(Jwt, LoadPrivateKeyRefusesWhatIsNoPrivateKey) {
  EXPECT_THROW(load_private_key(""), std::runtime_error);
  EXPECT_THROW(load_private_key("not a key"), std::runtime_error);
  EXPECT_THROW(load_private_key(public_pem(generate_ec())), std::runtime_error)
      << "a public key cannot sign";
  std::string cut = private_pem(generate_ec());
  cut.resize(cut.size() / 2);
  EXPECT_THROW(load_private_key(cut), std::runtime_error);
}

TEST(Jwt, LoadPrivateKeyReadsEcAndRsaPkcs8) {
  const PrivateKey ec = load_private_key(private_pem(generate_ec()));
  ASSERT_TRUE(ec);
  EXPECT_EQ(EVP_PKEY_get_base_id(ec.get()), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(ec.get()), 256);
  const PrivateKey rsa = load_private_key(private_pem(generate_rsa()));
  ASSERT_TRUE(rsa);
  EXPECT_EQ(EVP_PKEY_get_base_id(rsa.get()), EVP_PKEY_RSA);
}

TEST(Jwt, AnEncryptedKeyIsRefusedWithoutAskingForAPassphrase) {
  // A service has nobody to type a passphrase: the key must be refused at once, not wait on the
  // terminal or on stdin. Run in a child with no terminal and an open, silent stdin; bounded.
  const std::string pem = private_pem(generate_ec(), "secret-passphrase");
  int in[2];
  ASSERT_EQ(::pipe(in), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setsid();  // no controlling terminal: /dev/tty cannot be opened
    ::dup2(in[0], 0);
    ::close(in[0]);
    ::close(in[1]);
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    int code = 3;
    try {
      load_private_key(pem);
      code = 1;  // loaded without the passphrase?
    } catch (const std::runtime_error&) {
      code = 0;
    }
    ::_exit(code);
  }
  ::close(in[0]);
  int status = 0;
  bool exited = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    ::poll(nullptr, 0, 20);
  }
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  ::close(in[1]);
  ASSERT_TRUE(exited) << "load_private_key waited for a passphrase";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "an encrypted key must be a std::runtime_error";
}

TEST(Jwt, DerToRawPadsToThirtyTwoBytes) {
  // SEQUENCE { INTEGER 0x01, INTEGER 0x00ff.. (33 bytes with sign pad) }
  std::string der = std::string("\x30\x26\x02\x01\x01\x02\x21\x00", 8) + std::string(32, '\xff');
  der[1] = static_cast<char>(der.size() - 2);
  const std::string raw = der_to_raw_p256(der);
  ASSERT_EQ(raw.size(), 64u);
  EXPECT_EQ(raw.substr(0, 31), std::string(31, '\0'));
  EXPECT_EQ(raw[31], '\x01');
  EXPECT_EQ(raw.substr(32), std::string(32, '\xff'));
}

TEST(Jwt, DerToRawRefusesBadInputAndOversizedIntegers) {
  EXPECT_EQ(der_to_raw_p256(""), "");
  EXPECT_EQ(der_to_raw_p256("garbage"), "");
  EXPECT_EQ(der_to_raw_p256(std::string("\x30\x03\x02\x01", 4)), "") << "cut short";
  // R of 33 significant bytes cannot be a P-256 value.
  std::string der =
      std::string("\x30\x00\x02\x21", 4) + std::string(33, '\x7f') + std::string("\x02\x01\x01", 3);
  der[1] = static_cast<char>(der.size() - 2);
  EXPECT_EQ(der_to_raw_p256(der), "");
}

TEST(Jwt, DerToRawIsTheInverseOfDerEncoding) {
  std::string raw(64, '\0');
  for (int i = 0; i < 64; ++i) raw[i] = static_cast<char>(i * 7 + 1);
  raw[0] = 0;                         // a short R, padded back
  raw[32] = static_cast<char>(0x80);  // an S whose DER needs a sign byte
  EXPECT_EQ(der_to_raw_p256(raw_to_der(raw)), raw);
}

}  // namespace
}  // namespace dispatcher::channels::push
