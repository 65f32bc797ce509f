#include "codec/hmac.hpp"

#include <gtest/gtest.h>

#include <string>

#include "codec/hex.hpp"

namespace dispatcher {
namespace {

std::string bytes(std::size_t n, char c) { return std::string(n, c); }

// RFC 4231 §4: HMAC-SHA-256 test vectors.
TEST(HmacSha256, Rfc4231TestCases) {
  struct Case {
    const char* name;
    std::string key, data, mac;
  };
  std::string key4;
  for (int i = 1; i <= 25; ++i) key4 += static_cast<char>(i);
  const Case cases[] = {
      {"1", bytes(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"2 (key shorter than the output)", "Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"3", bytes(20, '\xaa'), bytes(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"4", key4, bytes(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {"6 (key larger than the block)", bytes(131, '\xaa'),
       "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"7 (key and data larger than the block)", bytes(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. The "
       "key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const Case& c : cases) {
    const std::string mac = hmac_sha256(c.key, c.data);
    EXPECT_EQ(mac.size(), 32u) << "test case " << c.name;
    EXPECT_EQ(to_hex(mac), c.mac) << "test case " << c.name;
  }
  // Test case 5 is the truncated one: the first 128 bits.
  EXPECT_EQ(to_hex(hmac_sha256(bytes(20, '\x0c'), "Test With Truncation")).substr(0, 32),
            "a3b6167473100ee06e0c796c2955552b");
}

TEST(HmacSha256, BinaryKeyAndDataAreNotCutAtNul) {
  const std::string key("k\0ey", 4), data("da\0ta", 5);
  EXPECT_NE(hmac_sha256(key, data), hmac_sha256("k", data));
  EXPECT_NE(hmac_sha256(key, data), hmac_sha256(key, "da"));
}

TEST(HmacSha256, EmptyKeyAndDataStillGiveAFullDigest) {
  // HMAC-SHA256("", "") as computed by Python's hmac module and `openssl dgst -hmac ""`.
  EXPECT_EQ(to_hex(hmac_sha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  // A default string_view has no data pointer at all: still the digest of nothing, never "".
  EXPECT_EQ(to_hex(hmac_sha256(std::string_view{}, std::string_view{})),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_EQ(hmac_sha256(std::string_view{}, "data"), hmac_sha256("", "data"));
  EXPECT_EQ(hmac_sha256("key", std::string_view{}), hmac_sha256("key", ""));
  EXPECT_EQ(hmac_sha1(std::string_view{}, "data"), hmac_sha1("", "data"));
  EXPECT_EQ(hmac_sha1(std::string_view{}, "data").size(), 20u);
  EXPECT_EQ(to_hex(sha256(std::string_view{})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// RFC 2202 §3: HMAC-SHA-1 test vectors (Twilio signs its callbacks with HMAC-SHA1).
TEST(HmacSha1, Rfc2202TestCases) {
  EXPECT_EQ(to_hex(hmac_sha1(bytes(20, '\x0b'), "Hi There")),
            "b617318655057264e28bc0b6fb378c8ef146be00");
  EXPECT_EQ(to_hex(hmac_sha1("Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(to_hex(hmac_sha1(bytes(80, '\xaa'),
                             "Test Using Larger Than Block-Size Key - Hash Key First")),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112");
  EXPECT_EQ(hmac_sha1("Jefe", "x").size(), 20u);
}

// FIPS 180-2 appendix B.1, and the digest of nothing.
TEST(Sha256, KnownDigests) {
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(ConstantTimeEqual, ComparesLengthAndEveryByte) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("signature", "signature"));
  EXPECT_TRUE(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal("signature", "signaturE")) << "differs in the last byte";
  EXPECT_FALSE(constant_time_equal("signature", "Signature")) << "differs in the first byte";
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)))
      << "a NUL does not end the comparison";
  EXPECT_FALSE(constant_time_equal("sig", "signature")) << "a prefix is not equal";
  EXPECT_FALSE(constant_time_equal("signature", "sig"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  const std::string mac = hmac_sha256("key", "message");
  std::string forged = mac;
  forged[17] ^= 1;
  EXPECT_TRUE(constant_time_equal(mac, hmac_sha256("key", "message")));
  EXPECT_FALSE(constant_time_equal(mac, forged));
}

}  // namespace
}  // namespace dispatcher
