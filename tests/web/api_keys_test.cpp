// API keys: only hashes stored, Bearer and (for webhooks) Basic authentication.
#include "web/api_keys.hpp"

#include <gtest/gtest.h>

#include "web/text.hpp"

namespace dispatcher::web {
namespace {

TEST(ApiKeys, StoresHashesAndAuthenticatesBearerKeys) {
  auto k = new_api_key("clinic:c-102");
  EXPECT_EQ(k.key.rfind("dsk_", 0), 0u);
  EXPECT_EQ(k.yaml_entry.find(k.key), std::string::npos) << "the entry holds the hash, not the key";
  ApiKeys keys = ApiKeys::parse(k.yaml_entry + "\n");
  ASSERT_EQ(keys.size(), 1u);
  auto who = keys.authenticate("Bearer " + k.key);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->sender, "clinic:c-102");
  EXPECT_EQ(who->clinic(), "c-102");
  EXPECT_FALSE(who->is_operator());
  EXPECT_FALSE(keys.authenticate(k.key));
  EXPECT_FALSE(keys.authenticate("Bearer wrong"));
  EXPECT_FALSE(keys.authenticate(""));
  EXPECT_THROW(ApiKeys::parse("- {sha256: xyz, sender: operator}"), std::runtime_error);
  EXPECT_THROW(ApiKeys::parse("- {sha256: " + sha256_hex("a") + ", sender: nobody}"),
               std::runtime_error);
  EXPECT_THROW(new_api_key("group:x"), std::runtime_error);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiKeys, BasicAuthCarriesTheKeyAsPasswordForWebhooks) {
  ApiKeys keys;
  keys.add(sha256_hex("dsk_test"), "operator");
  auto who = keys.authenticate("Basic ZXNwOmRza190ZXN0");  // esp:dsk_test
  ASSERT_TRUE(who);
  EXPECT_TRUE(who->is_operator());
  EXPECT_FALSE(keys.authenticate("Basic ZXNwOndyb25n"));  // esp:wrong
  EXPECT_FALSE(keys.authenticate("Basic ZHNrX3Rlc3Q="));  // no colon: the key is not a user name
  EXPECT_FALSE(keys.authenticate(
      "Basic eDpkc2tfdGVzdDE="));  // x:dsk_test1 (padding handled, not a prefix match)
  EXPECT_FALSE(keys.authenticate("Basic !!!!"));
  EXPECT_FALSE(keys.authenticate("Basic ZXNwOmRza190ZXN"));  // not a multiple of 4
  EXPECT_FALSE(keys.authenticate("Basic "));
}

}  // namespace
}  // namespace dispatcher::web
