#include "channels/registry.hpp"

#include <gtest/gtest.h>

#include "channels/failover.hpp"
#include "channels/support/standin.hpp"

namespace dispatcher::channels {
namespace {

using namespace channels::testing;  // NOLINT
using nlohmann::json;
namespace asio = boost::asio;

std::string config_error(const std::string& yaml, Context& ctx) {
  ProviderRegistry reg;
  register_builtin_providers(reg);
  try {
    build_channels(config::load_text(yaml, "d.yaml"), reg, ctx);
  } catch (const config::LoadError& e) {
    return e.what();
  }
  return "no error";
}

struct RegistryFixture : ::testing::Test {
  asio::io_context io;
  curl::Multi multi{io};
  std::map<std::string, std::string> env{{"TWILIO_AUTH_TOKEN", "tok"}, {"SMS_KEY", "Bearer k"}};
  Context ctx{io, multi, system_now, [this](const std::string& n) -> std::optional<std::string> {
                auto it = env.find(n);
                if (it == env.end()) return std::nullopt;
                return it->second;
              }};
};

TEST(Registry, RefusesDuplicateTypes) {
  ProviderRegistry reg;
  register_builtin_providers(reg);
  EXPECT_THROW(
      reg.add("smtp", [](const ProviderEntry&, Context&) { return std::unique_ptr<Provider>(); }),
      std::invalid_argument);
  EXPECT_NO_THROW(reg.add(
      "outbox", [](const ProviderEntry&, Context&) { return std::unique_ptr<Provider>(); }));
  EXPECT_EQ(reg.types().size(), 7u);
}

TEST_F(RegistryFixture, ConfigErrorsNameThePlaceAndTheKeyPath) {
  const std::string twilio_ok =
      "{type: twilio, account_sid: AC1, auth_token_env: TWILIO_AUTH_TOKEN, from: '+815012345678'}";
  EXPECT_EQ(config_error("{sms: [" + twilio_ok + "]}", ctx), "no error");
  EXPECT_EQ(config_error(
                "{sms: [{type: twilio, auth_token_env: TWILIO_AUTH_TOKEN, from: '+8150'}]}", ctx),
            "d.yaml:1:8: channels.sms[0].account_sid: required");
  EXPECT_EQ(config_error("{sms: [{type: twilio, account_sid: AC1, auth_token_env: "
                         "TWILIO_AUTH_TOKEN, from: '+8150', bogus: 1}]}",
                         ctx),
            "d.yaml:1:91: channels.sms[0].bogus: unknown key");
  EXPECT_NE(config_error(
                "{sms: [{type: twilio, account_sid: AC1, auth_token: inline, from: '+8150'}]}", ctx)
                .find("channels.sms[0].auth_token: secrets are never written inline"),
            std::string::npos);
  EXPECT_EQ(
      config_error("{sms: [{type: twilio, account_sid: AC1, auth_token_env: NOPE, from: '+8150'}]}",
                   ctx),
      "d.yaml:1:57: channels.sms[0].auth_token_env: environment variable NOPE is not set");
  EXPECT_NE(
      config_error(
          "{sms: [" + twilio_ok + ", {type: http_sms, url: 'http://sms.example.jp/send'}]}", ctx)
          .find("channels.sms[1].url: plain http:// is only allowed to a loopback host"),
      std::string::npos);
  EXPECT_EQ(config_error("{sms: [{type: http_sms, url: 'http://127.0.0.1:9/send', auth_value_env: "
                         "SMS_KEY, fields: {to: dest, bad: x}}]}",
                         ctx),
            "d.yaml:1:101: channels.sms[0].fields.bad: unknown key");
  EXPECT_NE(config_error("{email: [{type: smtp, url: 'smtp://mail.example.jp:25', from: a@b.jp, "
                         "starttls: false}]}",
                         ctx)
                .find("channels.email[0].starttls: a non-TLS SMTP connection is only allowed to a "
                      "loopback host"),
            std::string::npos);
  EXPECT_EQ(config_error("{email: [{type: smtp, url: 'smtp://127.0.0.1:25', from: a@b.jp, "
                         "starttls: false, pool: 0}]}",
                         ctx),
            "d.yaml:1:88: channels.email[0].pool: must be between 1 and 256");
  EXPECT_EQ(config_error("{email: [{type: carrier-pigeon}]}", ctx),
            "d.yaml:1:17: channels.email[0].type: unknown provider type \"carrier-pigeon\"");
  EXPECT_EQ(config_error("{fax: []}", ctx),
            "d.yaml:1:2: channels.fax: unknown key (expected email, sms, push, line or breaker)");
  EXPECT_EQ(config_error("{sms: [" + twilio_ok + ", " + twilio_ok + "]}", ctx),
            "d.yaml:1:100: channels.sms[1].name: \"twilio\" is used twice in channels.sms");
  EXPECT_EQ(config_error("{sms: [{type: twilio, account_sid: AC1, auth_token_env: "
                         "TWILIO_AUTH_TOKEN, from: '+8150', rate: {per_second: 10, brust: 3}}]}",
                         ctx),
            "d.yaml:1:114: channels.sms[0].rate.brust: unknown key");
  EXPECT_EQ(
      config_error(
          "{push: [{type: apns, key_file: /nonexistent.p8, key_id: K, team_id: T, topic: x}]}",
          ctx),
      "d.yaml:1:32: channels.push[0].key_file: cannot read /nonexistent.p8");
}

TEST_F(RegistryFixture, EveryMistakenEntryIsReportedInOneGo) {
  ProviderRegistry reg;
  register_builtin_providers(reg);
  const std::string yaml =
      "{fax: [], breaker: {failures_to_open: 0},"
      " sms: [{type: twilio, auth_token_env: TWILIO_AUTH_TOKEN, from: '+8150'},"
      "       {type: http_sms, url: 'http://sms.example.jp/send'}],"
      " email: [{type: smtp, url: 'smtp://127.0.0.1:25', from: a@b.jp, starttls: false, pool: 0}]}";
  try {
    build_channels(config::load_text(yaml, "d.yaml"), reg, ctx);
    FAIL() << "no error";
  } catch (const config::LoadError& e) {
    // In file order, each with its position.
    const std::vector<std::string> want{
        "d.yaml:1:2: channels.fax: unknown key (expected email, sms, push, line or breaker)",
        "d.yaml:1:39: channels.breaker.failures_to_open: must be between 1 and 1000",
        "d.yaml:1:49: channels.sms[0].account_sid: required",
        "d.yaml:1:143: channels.sms[1].url: plain http:// is only allowed to a loopback host; use "
        "https://",
        "d.yaml:1:261: channels.email[0].pool: must be between 1 and 256",
    };
    EXPECT_EQ(e.errors(), want) << e.what();
    EXPECT_NE(std::string(e.what()).find("; "), std::string::npos) << "one line elsewhere";
  }
}

TEST_F(RegistryFixture, BuildsEveryChannelAndSendsThroughIt) {
  TempDir dir;
  const TestCert cert = make_cert(dir);
  const std::string rsa = make_key(dir, "sa.pem", true), ec = make_key(dir, "apns.p8", false);
  HttpStandin twilio(dir, "twilio", &cert);
  HttpStandin generic(dir, "http_sms", &cert);
  HttpStandin fcm(dir, "fcm", &cert, {}, rsa);
  HttpStandin apns(dir, "apns", &cert, {}, ec);
  Process smtp({python(), standin("smtp_standin.py"), "--out", dir / "mail"});
  const int smtp_port = smtp.port();
  write_file(dir / "sa.json", json{{"type", "service_account"},
                                   {"project_id", "demo-project"},
                                   {"private_key_id", "kid1"},
                                   {"private_key", read_file(rsa)},
                                   {"client_email", "d@demo-project.iam.gserviceaccount.com"},
                                   {"token_uri", fcm.base() + "/token"}}
                                  .dump());
  write_file(dir / "twilio.secret", "tok\n");
  const std::string yaml =
      R"(
breaker: {failures_to_open: 2, cool_down_s: 60}
email:
  - {type: smtp, name: primary-smtp, url: "smtp://127.0.0.1:)" +
      std::to_string(smtp_port) + R"(", starttls: false,
     from: no-reply@clinic.example.jp, from_name: さくら歯科, pool: 2, rate: {per_second: 100, burst: 200}}
sms:
  - {type: twilio, name: twilio-main, base_url: ")" +
      twilio.base() + R"(", account_sid: AC1, auth_token_file: ")" + dir / "twilio.secret" + R"(",
     from: "+815012345678", ca_file: ")" +
      cert.cert + R"("}
  - {type: http_sms, name: backup-sms, url: ")" +
      generic.base() + R"(/send", auth_header: X-Api-Key, auth_value_env: SMS_KEY,
     fields: {to: to, text: message}, suppress_codes: [unsubscribed], ca_file: ")" +
      cert.cert + R"("}
push:
  - {type: fcm, name: fcm-main, key_file: ")" +
      dir / "sa.json" + R"(", base_url: ")" + fcm.base() + R"(", ca_file: ")" + cert.cert + R"("}
  - {type: apns, name: apns-main, key_file: ")" +
      ec + R"(", key_id: ABC123DEFG, team_id: DEF123GHIJ, topic: jp.example.sakura,
     base_url: ")" +
      apns.base() + R"(", ca_file: ")" + cert.cert + R"("}
)";
  ProviderRegistry reg;
  register_builtin_providers(reg);
  Channels ch = build_channels(config::load_text(yaml, "d.yaml"), reg, ctx);
  ASSERT_TRUE(ch.get(Channel::email) && ch.get(Channel::sms) && ch.get(Channel::push));
  EXPECT_NE(dynamic_cast<Failover*>(ch.get(Channel::sms)), nullptr);

  Envelope mail;
  mail.channel = Channel::email;
  mail.to = "taro@example.jp";
  mail.subject = "ご予約のお知らせ";
  mail.text = "明日です";
  mail.html = "<p>明日です</p>";
  Outcome o = send_sync(io, *ch.get(Channel::email), mail);
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  EXPECT_EQ(o.provider, "primary-smtp");

  Envelope sms;
  sms.channel = Channel::sms;
  sms.to = "+819012345678";
  sms.sms_text = "明日です";
  o = send_sync(io, *ch.get(Channel::sms), sms);
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  EXPECT_EQ(o.provider, "twilio-main");
  EXPECT_EQ(twilio.requests().at(0)["headers"]["authorization"],
            "Basic QUMxOnRvaw==");  // AC1:tok from the file

  Envelope p;
  p.channel = Channel::push;
  p.to = std::string(64, 'e');
  p.push_platform = "apns";
  p.push_title = "さくら歯科";
  p.push_body = "明日です";
  o = send_sync(io, *ch.get(Channel::push), p);
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  EXPECT_EQ(o.provider, "apns-main");
  p.to = "fcm-token-1";
  p.push_platform = "fcm";
  o = send_sync(io, *ch.get(Channel::push), p);
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  EXPECT_EQ(o.provider, "fcm-main");
  p.push_platform = "webpush";
  o = send_sync(io, *ch.get(Channel::push), p);
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_EQ(apns.requests().size(), 1u);
  EXPECT_EQ(fcm.requests().size(), 2u);  // token + send
}

// Rate limits and failover wrap every provider type alike: e-mail fails over from an SMTP server
// that refuses connections, push from an APNs that answers 503, and each entry's bucket holds
// sends to burst + rate × elapsed (injected clock).
TEST_F(RegistryFixture, RateLimitAndFailoverForEmailAndPush) {
  TempDir dir;
  const TestCert cert = make_cert(dir);
  const std::string ec = make_key(dir, "apns.p8", false);
  HttpStandin apns_down(
      dir, "apns", &cert,
      json{{"*", {{"status", 503}, {"body", {{"reason", "ServiceUnavailable"}}}}}}, ec);
  HttpStandin apns_up(dir, "apns", &cert, {}, ec);
  Process smtp({python(), standin("smtp_standin.py"), "--out", dir / "mail"});
  const int smtp_port = smtp.port();
  FakeClock clock;
  ctx.now = clock.fn();
  auto apns_entry = [&](const char* name, const HttpStandin& s, const char* rate) {
    return std::string("{type: apns, name: ") + name + ", key_file: \"" + ec +
           "\", key_id: K, team_id: T, topic: jp.example.sakura, base_url: \"" + s.base() +
           "\", ca_file: \"" + cert.cert + "\"" + rate + "}";
  };
  const std::string yaml =
      "{breaker: {failures_to_open: 1, cool_down_s: 60},\n"
      " email: [{type: smtp, name: down-smtp, url: 'smtp://127.0.0.1:1', starttls: false, from: "
      "a@clinic.example.jp},\n"
      "         {type: smtp, name: up-smtp, url: 'smtp://127.0.0.1:" +
      std::to_string(smtp_port) +
      "', starttls: false, from: a@clinic.example.jp, rate: {per_second: 1, burst: 2}}],\n"
      " push: [" +
      apns_entry("apns-down", apns_down, "") + ", " +
      apns_entry("apns-up", apns_up, ", rate: {per_second: 1, burst: 2}") + "]}";
  ProviderRegistry reg;
  register_builtin_providers(reg);
  Channels ch = build_channels(config::load_text(yaml, "d.yaml"), reg, ctx);

  Envelope mail;
  mail.to = "taro@example.jp";
  mail.subject = "お知らせ";
  mail.text = "本文";
  Envelope push;
  push.to = std::string(64, 'f');
  push.push_platform = "apns";
  push.push_title = "t";
  push.push_body = "b";
  for (auto [channel, env, second] :
       {std::tuple{Channel::email, mail, "up-smtp"}, std::tuple{Channel::push, push, "apns-up"}}) {
    // The first send finds the first provider failing, opens its circuit and fails over.
    std::vector<Outcome> got{send_sync(io, *ch.get(channel), env)};
    for (int i = 0; i < 5; ++i)
      ch.get(channel)->send(env, [&](Outcome o) { got.push_back(std::move(o)); });
    // The burst (2) went through the second provider; the rest wait for tokens.
    ASSERT_TRUE(run_until(io, [&] { return got.size() == 2; })) << to_string(channel);
    run_until(
        io, [] { return false; }, std::chrono::milliseconds(200));
    EXPECT_EQ(got.size(), 2u) << "no more than the burst while the clock stands still";
    for (int step = 1; step <= 4; ++step) {
      clock.advance(std::chrono::seconds(1));
      ASSERT_TRUE(run_until(io, [&] { return got.size() == static_cast<std::size_t>(2 + step); }))
          << to_string(channel);
    }
    for (const auto& o : got) {
      EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
      EXPECT_EQ(o.provider, second);
    }
  }
  // The failing first providers were tried and their circuits opened (failures_to_open: 1).
  EXPECT_EQ(apns_down.requests().size(), 1u);
  EXPECT_EQ(apns_up.requests().size(), 6u);
}

}  // namespace
}  // namespace dispatcher::channels
