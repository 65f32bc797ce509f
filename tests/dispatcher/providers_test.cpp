// Which provider each channel gets from config: the outbox for every channel when none is
// configured, and what those outboxes write under the data directory.
#include "dispatcher/providers.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <fstream>
#include <sstream>

#include "channels/config_reader.hpp"
#include "channels/outbox.hpp"
#include "config/yaml_reader.hpp"
#include "dispatcher/runtime_env.hpp"

namespace dispatcher {
namespace {

namespace fs = std::filesystem;
using testing_support::RuntimeEnv;

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Sends one envelope and returns the outcome; the outbox answers at once, on this thread.
channels::Outcome send(channels::Provider& p, const channels::Envelope& e) {
  std::optional<channels::Outcome> got;
  p.send(e, [&](channels::Outcome o) { got = std::move(o); });
  EXPECT_TRUE(got) << "the outbox did not answer";
  return got.value_or(channels::Outcome{});
}

channels::Envelope envelope(Channel c, const std::string& id) {
  channels::Envelope e;
  e.message_id = id;
  e.channel = c;
  e.purpose = "reservation";
  switch (c) {
    case Channel::email:
      e.to = "taro@example.jp";
      e.from_name = "さくら歯科";
      e.from_address = "no-reply@notify.example.jp";
      e.subject = "ご予約のお知らせ";
      e.text = "明日10時です";
      break;
    case Channel::sms:
      e.to = "+819012345678";
      e.sms_text = "明日10時です";
      break;
    case Channel::push:
      e.to = "token-a";
      e.push_platform = "fcm";
      e.push_title = "ご予約";
      e.push_body = "明日10時です";
      break;
  }
  return e;
}

TEST(BuildProviders, EveryChannelGetsTheOutboxWhenNoneIsConfigured) {
  RuntimeEnv env;
  ASSERT_FALSE(env.runtime().config.channels.node && env.runtime().config.channels.node.IsMap());
  boost::asio::io_context io;
  ProviderSet set = build_providers(io, env.runtime());
  EXPECT_FALSE(set.engine);  // no curl engine without a configured provider
  for (Channel c : all_channels) {
    ASSERT_NE(set[c], nullptr) << to_string(c);
    EXPECT_EQ(set[c]->name(), "outbox") << to_string(c);
    EXPECT_FALSE(set[c]->already_accepted("", "rsv-1")) << to_string(c);
    auto o = send(*set[c], envelope(c, "rsv-1"));
    EXPECT_EQ(o.kind, channels::OutcomeKind::accepted) << o.error;
    EXPECT_EQ(o.provider, "outbox");
    EXPECT_TRUE(set[c]->already_accepted("", "rsv-1")) << to_string(c);
  }
  // Under <data dir>/outbox/: an .eml per e-mail, a JSON line per SMS and push.
  const fs::path eml = env.outbox() / "email" / "rsv-1.eml";
  ASSERT_TRUE(fs::exists(eml));
  const std::string mail = read(eml);
  EXPECT_NE(mail.find("To: <taro@example.jp>"), std::string::npos) << mail;
  auto sms = nlohmann::json::parse(read(env.outbox() / "sms.jsonl"));
  EXPECT_EQ(sms["id"], "rsv-1");
  EXPECT_EQ(sms["to"], "+819012345678");
  EXPECT_EQ(sms["text"], "明日10時です");
  auto push = nlohmann::json::parse(read(env.outbox() / "push.jsonl"));
  EXPECT_EQ(push["to"], "token-a");
  EXPECT_EQ(push["platform"], "fcm");
}

TEST(BuildProviders, TheOutboxMessageIdIsDerivedFromTheIdAndDoesNotShowIt) {
  RuntimeEnv env;
  boost::asio::io_context io;
  ProviderSet set = build_providers(io, env.runtime());
  auto message_id_of = [&](const std::string& id, const std::string& sender = "clinic:c-1") {
    auto e = envelope(Channel::email, id);
    e.sender = sender;
    send(*set[Channel::email], e);
    const std::string mail = read(env.outbox() / "email" /
                                  (channels::OutboxProvider::file_name_for(sender, id) + ".eml"));
    const auto at = mail.find("Message-ID: <");
    if (at == std::string::npos) return std::string("none in:\n") + mail;
    return mail.substr(at + 13, mail.find('>', at) - at - 13);
  };
  const std::string first = message_id_of("clinic-4711-remind");
  EXPECT_EQ(first.find("clinic-4711"), std::string::npos) << first;
  EXPECT_NE(first.find("@notify.example.jp"), std::string::npos) << first;  // email_from's domain
  EXPECT_EQ(message_id_of("clinic-4711-remind"), first);  // a redelivery repeats it
  EXPECT_NE(message_id_of("clinic-4712-remind"), first);
  // Ids are per sender: another clinic's equal id is another message, in its own file.
  EXPECT_NE(message_id_of("clinic-4711-remind", "clinic:c-2"), first);
  EXPECT_TRUE(fs::exists(env.outbox() / "email" / "clinic%3Ac-1+clinic-4711-remind.eml"));
  EXPECT_TRUE(fs::exists(env.outbox() / "email" / "clinic%3Ac-2+clinic-4711-remind.eml"));
  EXPECT_TRUE(set[Channel::email]->already_accepted("clinic:c-2", "clinic-4711-remind"));
  EXPECT_FALSE(set[Channel::email]->already_accepted("clinic:c-3", "clinic-4711-remind"));
}

TEST(BuildProviders, AConfiguredChannelGetsItsProviderAndTheOthersTheOutbox) {
  RuntimeEnv env("", "channels:\n  sms:\n    - {type: outbox, name: sms-box}\n");
  boost::asio::io_context io;
  ProviderSet set = build_providers(io, env.runtime());
  EXPECT_TRUE(set.engine);
  EXPECT_EQ(set[Channel::sms]->name(), "sms-box");
  EXPECT_EQ(set[Channel::email]->name(), "outbox");
  EXPECT_EQ(set[Channel::push]->name(), "outbox");
  auto o = send(*set[Channel::sms], envelope(Channel::sms, "rsv-2"));
  EXPECT_EQ(o.provider, "sms-box");
  EXPECT_EQ(nlohmann::json::parse(read(env.outbox() / "sms.jsonl"))["id"], "rsv-2");
}

TEST(BuildProviders, EveryMistakenEntryIsNamedInOneLoadError) {
  RuntimeEnv env("",
                 "channels:\n  sms:\n    - {type: outbox, colour: blue}\n"
                 "  push:\n    - {type: carrier_pigeon}\n");
  boost::asio::io_context io;
  try {
    build_providers(io, env.runtime());
    ADD_FAILURE() << "mistaken entries were accepted";
  } catch (const config::LoadError& e) {
    EXPECT_EQ(e.errors().size(), 2u) << e.what();
    EXPECT_NE(std::string(e.what()).find("channels.sms[0].colour: unknown key"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("channels.push[0].type"), std::string::npos) << e.what();
    // With the file and the line of the mistake (the shared YAML reader's form).
    EXPECT_NE(std::string(e.what()).find("dispatcher.yaml:"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dispatcher
