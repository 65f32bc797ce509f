// Unsubscribe tokens: what keeps personal data out of URLs.
#include "model/unsubscribe_token.hpp"

#include <gtest/gtest.h>

using namespace dispatcher;

namespace {
const std::string secret = "0123456789abcdef0123456789abcdef";
TimePoint at(const char* s) { return *parse_rfc3339(s); }
}  // namespace

TEST(UnsubscribeToken, RoundTripsAndCarriesNoReadableIdentity) {
  TokenClaims c{subject_ref("m-123", secret), "purpose:advertising", 1800000000};
  std::string token = make_token(c, secret).value();
  EXPECT_LE(token.size(), 40u) << "tokens must stay short enough for an SMS";
  EXPECT_EQ(token.find("m-123"), std::string::npos);
  auto back = verify_token(token, secret, at("2026-11-26T00:00:00Z"));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->ref, c.ref);
  EXPECT_EQ(back->scope, "purpose:advertising");
  EXPECT_EQ(subject_ref("m-123", secret), subject_ref("m-123", secret));
  EXPECT_NE(subject_ref("m-123", secret), subject_ref("m-124", secret));
}

TEST(UnsubscribeToken, ForgedTamperedAndExpiredTokensAreRefused) {
  TokenClaims c{subject_ref("m-123", secret), "purpose:advertising", 1800000000};
  std::string token = make_token(c, secret).value();
  EXPECT_FALSE(verify_token(token, "another-secret-another-secret-00", at("2026-11-26T00:00:00Z")));
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string t = token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(verify_token(t, secret, at("2026-11-26T00:00:00Z"))) << "flipped character " << i;
  }
  EXPECT_FALSE(verify_token(token, secret, at("2027-03-20T00:00:00Z"))) << "expired";
  EXPECT_FALSE(verify_token("", secret, at("2026-11-26T00:00:00Z")));
  EXPECT_FALSE(verify_token(std::string(500, 'A'), secret, at("2026-11-26T00:00:00Z")));
  EXPECT_FALSE(make_token({c.ref, "purpose:gossip", 1800000000}, secret));
  EXPECT_FALSE(make_token({"not-a-ref", "purpose:advertising", 1800000000}, secret));
}

TEST(UnsubscribeToken, CarriesTheChannelItWasSentOnWithinTheSameLength) {
  TokenClaims c{subject_ref("m-123", secret), "purpose:advertising", 1800000000};
  const std::string none = make_token(c, secret).value();
  EXPECT_EQ(verify_token(none, secret, at("2026-11-26T00:00:00Z"))->channel, std::nullopt)
      << "a link made without a channel (as before channels were carried) grants no channel";
  for (Channel ch : all_channels) {
    c.channel = ch;
    const std::string token = make_token(c, secret).value();
    EXPECT_EQ(token.size(), none.size()) << "no longer in an SMS";
    auto back = verify_token(token, secret, at("2026-11-26T00:00:00Z"));
    ASSERT_TRUE(back) << to_string(ch);
    EXPECT_EQ(back->channel, ch);
    EXPECT_EQ(back->scope, "purpose:advertising");
    EXPECT_NE(token, none) << "the channel is signed, not beside the token";
  }
}
