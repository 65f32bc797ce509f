// What every verb opens: the secret (created once, read back), the shipped policy and
// templates, Redis's address and the consumer's numbers, from a real config file.
#include "dispatcher/runtime.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "dispatcher/dispatcher_env.hpp"
#include "dispatcher/runtime_env.hpp"
#include "support/redis_server.hpp"

namespace dispatcher {
namespace {

namespace fs = std::filesystem;
using testing_support::TempDir;
using testing_support::write_file;

config::Config with_data_dir(const fs::path& dir) {
  config::Config c;
  c.data_dir = dir;
  return c;
}

fs::path shipped_policy() { return fs::path(DISPATCHER_SOURCE_DIR) / "config" / "policy.yaml"; }

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LoadSecret, CreatesThirtyTwoRandomBytesAsHexOnceAndReadsThemBack) {
  TempDir tmp;
  const auto c = with_data_dir(tmp.path() / "var");
  const std::string first = load_secret(c);
  EXPECT_TRUE(std::regex_match(first, std::regex("[0-9a-f]{64}"))) << first;
  const fs::path file = tmp.path() / "var" / "secret";
  EXPECT_EQ(read(file), first);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);  // a secret is the owner's alone
  EXPECT_EQ(load_secret(c), first);    // created once
  // Nothing was left beside it.
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(tmp.path() / "var")) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);

  TempDir other;
  EXPECT_NE(load_secret(with_data_dir(other.path())), first);  // drawn, not derived
}

TEST(LoadSecret, ReadsANamedSecretFileAndRefusesAShortOrMissingOne) {
  TempDir tmp;
  config::Config c = with_data_dir(tmp.path() / "var");
  c.secret_file = tmp.path() / "secret.txt";
  EXPECT_THROW(load_secret(c), std::runtime_error);  // named, so never created
  EXPECT_FALSE(fs::exists(c.secret_file));

  write_file(c.secret_file, std::string(40, 'z') + "\n");
  EXPECT_EQ(load_secret(c), std::string(40, 'z'));
  write_file(c.secret_file, "short\n");
  try {
    load_secret(c);
    ADD_FAILURE() << "a 5-character secret was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("fewer than 32"), std::string::npos) << e.what();
  }
}

TEST(TokenScopes, EveryShippedMarketingPurposeHasOne) {
  auto p = policy::Policy::load(shipped_policy());
  EXPECT_TRUE(token_scope_errors(p).empty());
  std::size_t marketing = 0;
  for (auto purpose : p.purposes()) marketing += p.is_marketing(purpose);
  EXPECT_GT(marketing, 0u);  // the check had something to look at
}

// The shipped policy with one more marketing purpose, which no token scope can name.
std::string policy_with_flash_sale() {
  std::string yaml = read(shipped_policy());
  const std::string purpose_line = "  - product_notice";
  const std::string marketing = "purposes: [advertising, campaign,";
  const auto at = yaml.find(purpose_line);
  const auto m = yaml.find(marketing);
  if (at == std::string::npos || m == std::string::npos) return {};
  yaml.replace(m, marketing.size(), "purposes: [flash_sale, advertising, campaign,");
  yaml.insert(at, "  - flash_sale\n");
  return yaml;
}

TEST(TokenScopes, AMarketingPurposeWithoutOneIsNamed) {
  const std::string yaml = policy_with_flash_sale();
  ASSERT_FALSE(yaml.empty()) << "the shipped policy changed shape";
  auto p = policy::Policy::load_string(yaml);
  ASSERT_TRUE(p.is_marketing("flash_sale"));
  auto errors = token_scope_errors(p);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("flash_sale"), std::string::npos) << errors[0];
}

TEST(OpenRuntime, RefusesAPolicyWithAnUnnamedMarketingPurpose) {
  testing_support::TempDir tmp;
  write_file(tmp.path() / "policy.yaml", policy_with_flash_sale());
  write_file(tmp.path() / "dispatcher.yaml",
             "data_dir: " + (tmp.path() / "var").string() +
                 "\npolicy_file: " + (tmp.path() / "policy.yaml").string() + "\n");
  ::unsetenv("DISPATCHER_REDIS_URL");
  ::unsetenv("DISPATCHER_DATA_DIR");
  try {
    open_runtime(tmp.path() / "dispatcher.yaml");
    ADD_FAILURE() << "the runtime opened";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("flash_sale"), std::string::npos) << e.what();
  }
}

TEST(OpenRuntime, CarriesTheConfigsNumbersAndOpensPolicyAndTemplates) {
  using namespace std::chrono_literals;
  testing_support::RuntimeEnv env("  max_attempts: 7\n  retry_after_max_ms: 120000\n",
                                  "clinics:\n  c-102: {name: さくら歯科, contact: 03-1234-5678}\n");
  const Runtime& rt = env.runtime();

  const channels::RetryPolicy retry = rt.retry_policy();
  EXPECT_EQ(retry.base, 10ms);  // retry_base_ms
  EXPECT_EQ(retry.cap, 50ms);   // retry_max_ms
  EXPECT_EQ(retry.max_retry_after, 120000ms);
  EXPECT_EQ(retry.max_attempts, 7u);

  // The shipped policy and templates, found from the source tree.
  ASSERT_TRUE(rt.policy);
  ASSERT_TRUE(rt.catalog);
  const MessageVocabulary v = rt.vocabulary();
  EXPECT_TRUE(v.known_purpose("reservation"));
  EXPECT_FALSE(v.known_purpose("gossip"));
  EXPECT_TRUE(v.known_template("reservation.reminder"));
  EXPECT_FALSE(v.known_template("reservation.nonexistent"));
  EXPECT_TRUE(v.known_category("usage_history"));
  EXPECT_FALSE(v.known_category("shoe_size"));

  EXPECT_EQ(rt.redis_endpoint().socket_path, (env.dir() / "redis.sock").string());
  EXPECT_EQ(rt.keys.prefix, "dsp:");
  EXPECT_EQ(rt.secret, read(env.data_dir() / "secret"));

  EXPECT_EQ(rt.identity_of("clinic:c-102").name, "さくら歯科");
  EXPECT_EQ(rt.identity_of("clinic:c-102").contact, "03-1234-5678");
  EXPECT_EQ(rt.identity_of("clinic:c-999").name, rt.config.operator_identity.name);
  EXPECT_EQ(rt.identity_of("operator").name, rt.config.operator_identity.name);
}

TEST(OpenRuntime, ARegionLibphonenumberDoesNotKnowIsRefusedNamingTheKey) {
  testing_support::TempDir tmp;
  write_file(tmp.path() / "dispatcher.yaml",
             "data_dir: " + (tmp.path() / "var").string() + "\nphone_region: XX\n");
  ::unsetenv("DISPATCHER_REDIS_URL");
  ::unsetenv("DISPATCHER_DATA_DIR");
  try {
    open_runtime(tmp.path() / "dispatcher.yaml", Needs{false, false});
    ADD_FAILURE() << "the runtime opened";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("phone_region: XX"), std::string::npos) << e.what();
  }
  write_file(tmp.path() / "dispatcher.yaml",
             "data_dir: " + (tmp.path() / "var").string() + "\nphone_region: US\n");
  const MessageVocabulary v =
      open_runtime(tmp.path() / "dispatcher.yaml", Needs{false, false}).vocabulary();
  EXPECT_EQ(v.phone_region, "US") << "what the message parse reads national numbers in";
  // `check` names it too, with the rest of what is wrong.
  testing_support::DispatcherEnv env("phone_region: XX\n");
  auto r = env.run({"check"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("phone_region: XX is not a region code"), std::string::npos) << r.err;
}

TEST(OpenRuntime, ABadRedisUrlIsRefusedWhenItIsNeeded) {
  testing_support::TempDir tmp;
  write_file(tmp.path() / "dispatcher.yaml", "data_dir: " + (tmp.path() / "var").string() +
                                                 "\nredis:\n  url: http://nowhere:6379\n");
  ::unsetenv("DISPATCHER_REDIS_URL");
  ::unsetenv("DISPATCHER_DATA_DIR");
  Runtime rt = open_runtime(tmp.path() / "dispatcher.yaml", Needs{false, false});
  EXPECT_FALSE(rt.policy);
  EXPECT_FALSE(rt.catalog);
  try {
    rt.redis_endpoint();
    ADD_FAILURE() << "an http url was taken for Redis";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("http://nowhere:6379"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dispatcher
