// A provider entry's reader: config's walker with the providers' own rules (secrets, URLs,
// files), its mistakes config::LoadErrors placed at file:line:col.
#include "channels/config_reader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "channels/registry.hpp"
#include "config/config.hpp"

namespace dispatcher::channels {
namespace {

using ::testing::ElementsAre;

// A read that blocks ends the test binary with SIGALRM: a failure in seconds, not a hang.
struct Deadline {
  explicit Deadline(unsigned seconds) { ::alarm(seconds); }
  ~Deadline() { ::alarm(0); }
};

const std::map<std::string, std::string> environment{{"SMS_KEY", "Bearer k"}};
std::optional<std::string> env(const std::string& name) {
  auto it = environment.find(name);
  if (it == environment.end()) return std::nullopt;
  return it->second;
}

// The one error line reading `entry` (a provider entry in e.yaml) with `read` throws.
std::string error_of(const std::string& entry, const std::function<void(EntryReader&)>& read) {
  const config::Located doc = config::load_text(entry, "e.yaml");
  try {
    EntryReader r(doc.node, "channels.sms[0]", doc.file, env);
    read(r);
    r.finish();
  } catch (const config::LoadError& e) {
    EXPECT_EQ(e.subject(), "config");
    EXPECT_EQ(e.errors().size(), 1u) << "a reader stops at the entry's first mistake";
    return e.errors().front();
  }
  return "no error";
}

TEST(EntryReader, AProviderEntryErrorFromDispatcherYamlCarriesFileLineAndColumn) {
  const config::Config cfg = config::load_string(
      "log_level: info\n"
      "channels:\n"
      "  sms:\n"
      "    - type: http_sms\n"
      "      url: https://sms.example.jp/send\n"
      "      auth_value_env: NOT_SET\n",
      "dispatcher.yaml");
  boost::asio::io_context io;
  curl::Multi multi(io);
  Context ctx{io, multi, system_now, env};
  ProviderRegistry registry;
  register_builtin_providers(registry);
  try {
    build_channels(cfg.channels, registry, ctx);
    FAIL() << "built a provider whose secret is not set";
  } catch (const config::LoadError& e) {
    EXPECT_THAT(e.errors(), ElementsAre("dispatcher.yaml:6:23: channels.sms[0].auth_value_env: "
                                        "environment variable NOT_SET is not set"));
  }
}

TEST(EntryReader, UnknownAndMissingKeysArePlaced) {
  EXPECT_EQ(
      error_of("url: https://a.example/\ncolour: red\n", [](EntryReader& r) { r.url("url"); }),
      "e.yaml:2:1: channels.sms[0].colour: unknown key");
  EXPECT_EQ(error_of("url: https://a.example/\n", [](EntryReader& r) { r.str("account_sid"); }),
            "e.yaml:1:1: channels.sms[0].account_sid: required")
      << "a missing key is placed at its entry";
  EXPECT_EQ(error_of("fields:\n  to: dest\n  bad: x\n",
                     [](EntryReader& r) {
                       EntryReader f = r.map("fields");
                       f.str("to", "");
                       f.finish();
                     }),
            "e.yaml:3:3: channels.sms[0].fields.bad: unknown key");
  EXPECT_EQ(error_of("fields: [to]\n", [](EntryReader& r) { r.map("fields"); }),
            "e.yaml:1:9: channels.sms[0].fields: must be a map");
}

TEST(EntryReader, SecretsComeFromTheEnvironmentOrAFileNeverInline) {
  EXPECT_EQ(error_of("auth_value_env: SMS_KEY\n",
                     [](EntryReader& r) { EXPECT_EQ(r.secret("auth_value"), "Bearer k"); }),
            "no error");
  EXPECT_EQ(error_of("auth_value: Bearer k\n", [](EntryReader& r) { r.secret("auth_value"); }),
            "e.yaml:1:13: channels.sms[0].auth_value: secrets are never written inline; use "
            "auth_value_env or auth_value_file");
  EXPECT_EQ(error_of("url: https://a.example/\n",
                     [](EntryReader& r) {
                       r.url("url");
                       r.secret("auth_value");
                     }),
            "e.yaml:1:1: channels.sms[0].auth_value_env: required (or auth_value_file)");
  const std::string file = ::testing::TempDir() + "config_reader_test.secret";
  { std::ofstream(file) << "s3cret\n"; }
  EXPECT_EQ(error_of("auth_value_file: " + file + "\n",
                     [](EntryReader& r) { EXPECT_EQ(r.secret("auth_value"), "s3cret"); }),
            "no error");
  std::filesystem::remove(file);
}

TEST(EntryReader, ASecretFileThatNeverEndsIsRefusedAtOnce) {
  Deadline deadline(10);
  EXPECT_EQ(
      error_of("auth_value_file: /dev/zero\n", [](EntryReader& r) { r.secret("auth_value"); }),
      "e.yaml:1:18: channels.sms[0].auth_value_file: /dev/zero: not a regular file");
  EXPECT_THROW(read_text_file("/dev/zero"), std::runtime_error);
}

TEST(EntryReader, FilesMustBeRegularAndReadable) {
  EXPECT_EQ(error_of("ca_file: /dev/zero\n", [](EntryReader& r) { r.file("ca_file"); }),
            "e.yaml:1:10: channels.sms[0].ca_file: /dev/zero is not a regular file");
  EXPECT_EQ(error_of("ca_file: /nonexistent.pem\n", [](EntryReader& r) { r.file("ca_file"); }),
            "e.yaml:1:10: channels.sms[0].ca_file: cannot read /nonexistent.pem");
  const std::string dir = ::testing::TempDir();
  EXPECT_EQ(error_of("ca_file: " + dir + "\n", [](EntryReader& r) { r.file("ca_file"); }),
            "e.yaml:1:10: channels.sms[0].ca_file: " + dir + " is not a regular file");
}

TEST(EntryReader, PlainHttpOnlyToLoopback) {
  EXPECT_EQ(error_of("url: http://127.0.0.1:9/send\n", [](EntryReader& r) { r.url("url"); }),
            "no error");
  EXPECT_EQ(error_of("url: http://sms.example.jp/send\n", [](EntryReader& r) { r.url("url"); }),
            "e.yaml:1:6: channels.sms[0].url: plain http:// is only allowed to a loopback host; "
            "use https://");
  EXPECT_EQ(error_of("url: ftp://sms.example.jp/\n", [](EntryReader& r) { r.url("url"); }),
            "e.yaml:1:6: channels.sms[0].url: must be an https:// URL");
}

TEST(EntryReader, AnEntryThatIsNotAMapIsNamed) {
  EXPECT_EQ(error_of("- a\n", [](EntryReader&) {}), "e.yaml:1:1: channels.sms[0]: must be a map");
  EXPECT_EQ(error_of("", [](EntryReader&) {}), "e.yaml: channels.sms[0]: must be a map");
}

}  // namespace
}  // namespace dispatcher::channels
