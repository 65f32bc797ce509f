#include "channels/email/smtp.hpp"

#include <gtest/gtest.h>

#include <random>

#include "channels/retry.hpp"
#include "channels/support/standin.hpp"

namespace dispatcher::channels::email {
namespace {

using namespace channels::testing;  // NOLINT
namespace asio = boost::asio;

TEST(SmtpClassify, RepliesMapToOutcomes) {
  auto o = classify_smtp(CURLE_OK, 250, "250 2.0.0 OK queued as Q1");
  EXPECT_EQ(o.kind, OutcomeKind::accepted);
  o = classify_smtp(CURLE_SEND_ERROR, 550,
                    "550 5.1.1 <x@y>: Recipient address rejected: User unknown");
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_TRUE(o.suppress_address);
  for (const char* dead :
       {"550 5.1.2 bad domain", "553 5.1.3 bad syntax", "550 5.1.10 null MX", "550 5.2.1 disabled"})
    EXPECT_TRUE(classify_smtp(CURLE_SEND_ERROR, 550, dead).suppress_address) << dead;
  o = classify_smtp(CURLE_SEND_ERROR, 554, "554 5.7.1 Message rejected as spam");
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_FALSE(o.suppress_address) << "policy rejections are not the address's fault";
  o = classify_smtp(CURLE_SEND_ERROR, 552, "552 5.2.2 Mailbox full");
  EXPECT_EQ(o.kind, OutcomeKind::transient);
  o = classify_smtp(CURLE_SEND_ERROR, 451, "451 4.3.0 Try again later");
  EXPECT_EQ(o.kind, OutcomeKind::transient);
  o = classify_smtp(CURLE_COULDNT_CONNECT, 0, "");
  EXPECT_EQ(o.kind, OutcomeKind::transient);
  o = classify_smtp(CURLE_SEND_ERROR, 550, "550 mailbox unavailable");  // no enhanced code
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_FALSE(o.suppress_address);
}

Envelope mail(std::string to, bool marketing) {
  Envelope e;
  e.message_id = "m-" + to;
  e.channel = Channel::email;
  e.to = std::move(to);
  e.subject = "【さくら歯科】明日のご予約のお知らせ（12月1日 10:00）";
  e.text = "山田 太郎 様\n\n明日 10:00 にご予約をいただいております。\n.\nさくら歯科";
  e.html = "<p>山田 太郎 様</p><p>明日 10:00 にご予約をいただいております。</p>";
  e.marketing = marketing;
  if (marketing) {
    e.purpose = "advertising";
    e.unsubscribe_url = "https://notify.example.jp/u/Opaque-Token-123";
    e.unsubscribe_mailto = "unsubscribe@notify.example.jp?subject=unsubscribe";
  } else {
    e.purpose = "reservation";
  }
  return e;
}

struct SmtpFixture : ::testing::Test {
  TempDir dir;
  std::unique_ptr<Process> server;
  int port = 0;
  std::string out = dir / "mail";

  void start(const TestCert* cert = nullptr) {
    write_file(
        dir / "script.json",
        R"({"rcpt": {"dead@example.jp": "550 5.1.1 <dead@example.jp>: Recipient address rejected: User unknown"},
                                        "data": {"busy@example.jp": "451 4.3.0 Try again later",
                                                 "flaky@example.jp": ["451 4.3.0 Try again later", "452 4.3.1 Insufficient storage"]}})");
    std::vector<std::string> argv{python(),   standin("smtp_standin.py"), "--out", out,
                                  "--script", dir / "script.json"};
    if (cert) argv.insert(argv.end(), {"--cert", cert->cert, "--key", cert->key});
    server = std::make_unique<Process>(argv);
    port = server->port();
  }
  SmtpSettings settings() {
    SmtpSettings s;
    s.url = "smtp://127.0.0.1:" + std::to_string(port);
    s.require_tls = false;  // loopback only
    s.from_address = "no-reply@clinic.example.jp";
    s.from_name = "さくら歯科 予約センター";
    s.pool = 2;
    s.timeout = std::chrono::seconds(20);
    return s;
  }
  nlohmann::json summary(int n) {
    char name[32];
    std::snprintf(name, sizeof name, "%05d.json", n);
    return nlohmann::json::parse(read_file(out + "/" + name));
  }
};

TEST_F(SmtpFixture, ReminderAndMarketingParsedByPythonsEmailPackage) {
  start();
  asio::io_context io;
  curl::Multi multi(io);
  SmtpProvider smtp("primary-smtp", settings(), multi);
  std::vector<Outcome> got;
  smtp.send(mail("taro@example.jp", false), [&](Outcome o) { got.push_back(std::move(o)); });
  ASSERT_TRUE(run_until(io, [&] { return got.size() == 1; }));
  smtp.send(mail("hanako@example.jp", true), [&](Outcome o) { got.push_back(std::move(o)); });
  ASSERT_TRUE(run_until(io, [&] { return got.size() == 2; }));
  for (auto& o : got) {
    EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
    EXPECT_EQ(o.provider, "primary-smtp");
    EXPECT_EQ(o.provider_message_id.front(), '<');
  }
  const auto reminder = summary(1), marketing = summary(2);
  for (const auto& s : {reminder, marketing}) {
    EXPECT_EQ(s["subject"], "【さくら歯科】明日のご予約のお知らせ（12月1日 10:00）");
    EXPECT_EQ(s["from_display_name"], "さくら歯科 予約センター");
    EXPECT_EQ(s["from_addr_spec"], "no-reply@clinic.example.jp");
    EXPECT_EQ(s["mime_version"], "1.0");
    EXPECT_EQ(s["content_type"], "multipart/alternative");
    ASSERT_EQ(s["parts"].size(), 2u);
    EXPECT_EQ(s["parts"][0]["content_type"], "text/plain");
    EXPECT_EQ(s["parts"][1]["content_type"], "text/html");
    EXPECT_EQ(s["parts"][0]["cte"], "base64");
    EXPECT_NE(s["parts"][0]["text"].get<std::string>().find("明日 10:00 にご予約"),
              std::string::npos);
    EXPECT_NE(s["parts"][1]["text"].get<std::string>().find("<p>山田 太郎 様</p>"),
              std::string::npos);
    EXPECT_TRUE(s["defects"].empty()) << s["defects"];
    EXPECT_FALSE(s["bare_lf"]);
    EXPECT_LE(s["max_line"].get<int>(), 76) << read_file(out + "/00001.eml");
    EXPECT_FALSE(s["date_parsed"].is_null());
    EXPECT_EQ(s["envelope_from"], "no-reply@clinic.example.jp");
  }
  EXPECT_EQ(reminder["message_id"], got[0].provider_message_id);
  EXPECT_TRUE(reminder["list_unsubscribe"].is_null());
  EXPECT_TRUE(reminder["list_unsubscribe_post"].is_null());
  EXPECT_EQ(marketing["list_unsubscribe"],
            "<https://notify.example.jp/u/Opaque-Token-123>, "
            "<mailto:unsubscribe@notify.example.jp?subject=unsubscribe>");
  EXPECT_EQ(marketing["list_unsubscribe_post"], "List-Unsubscribe=One-Click");
  // The text body's lone "." line survived (libcurl dot-stuffs, the server un-stuffs).
  EXPECT_NE(reminder["parts"][0]["text"].get<std::string>().find("\r\n.\r\n"), std::string::npos);
}

TEST_F(SmtpFixture, DeadMailboxIsPermanentAndSuppressedBusyIsTransient) {
  start();
  asio::io_context io;
  curl::Multi multi(io);
  SmtpProvider smtp("primary-smtp", settings(), multi);
  std::map<std::string, Outcome> got;
  for (std::string to : {"dead@example.jp", "busy@example.jp", "ok@example.jp"})
    smtp.send(mail(to, false), [&, to](Outcome o) { got[to] = std::move(o); });
  ASSERT_TRUE(run_until(io, [&] { return got.size() == 3; }));
  EXPECT_EQ(got["dead@example.jp"].kind, OutcomeKind::permanent);
  EXPECT_TRUE(got["dead@example.jp"].suppress_address);
  EXPECT_NE(got["dead@example.jp"].error.find("5.1.1"), std::string::npos)
      << got["dead@example.jp"].error;
  EXPECT_EQ(got["dead@example.jp"].error.find("dead@"), std::string::npos)
      << "no address in errors and logs";
  EXPECT_EQ(got["busy@example.jp"].kind, OutcomeKind::transient) << got["busy@example.jp"].error;
  EXPECT_FALSE(got["busy@example.jp"].suppress_address);
  EXPECT_EQ(got["ok@example.jp"].kind, OutcomeKind::accepted) << got["ok@example.jp"].error;
}

TEST_F(SmtpFixture, StartTlsRequiredAndVerified) {
  const auto cert = make_cert(dir);
  start(&cert);
  asio::io_context io;
  curl::Multi multi(io);
  auto s = settings();
  s.require_tls = true;
  s.ca_file = cert.cert;
  SmtpProvider smtp("tls-smtp", s, multi);
  std::vector<Outcome> got;
  for (int i = 0; i < 5; ++i)
    smtp.send(mail("user" + std::to_string(i) + "@example.jp", i % 2 == 0),
              [&](Outcome o) { got.push_back(std::move(o)); });
  ASSERT_TRUE(run_until(io, [&] { return got.size() == 5; }));
  for (auto& o : got) EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  EXPECT_TRUE(summary(1)["tls"]);
  // Without the CA the certificate is not trusted: not sent, transient (configuration), never
  // cleartext.
  s.ca_file.clear();
  curl::Multi fresh(io);  // its own connection cache: nothing verified earlier is reused
  SmtpProvider untrusted("tls-smtp-untrusted", s, fresh);
  std::optional<Outcome> bad;
  untrusted.send(mail("x@example.jp", false), [&](Outcome o) { bad = std::move(o); });
  ASSERT_TRUE(run_until(io, [&] { return bad.has_value(); }));
  EXPECT_EQ(bad->kind, OutcomeKind::transient);
}

TEST_F(SmtpFixture, TransientThenAcceptedInABoundedRetryLoop) {
  start();
  asio::io_context io;
  curl::Multi multi(io);
  SmtpProvider smtp("primary-smtp", settings(), multi);
  std::mt19937_64 rng(5);
  unsigned attempts = 0;
  std::vector<std::chrono::milliseconds> delays;
  Outcome o;
  while (attempts < RetryPolicy{}.max_attempts) {
    ++attempts;
    o = send_sync(io, smtp, mail("flaky@example.jp", false));
    if (o.kind != OutcomeKind::transient) break;
    delays.push_back(retry_delay(attempts, o.retry_after, rng));
  }
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  EXPECT_EQ(attempts, 3u);
  EXPECT_EQ(delays.size(), 2u);
}

TEST_F(SmtpFixture, PoolReusesItsConnections) {
  start();
  asio::io_context io;
  curl::Multi multi(io);
  auto s = settings();
  s.pool = 2;
  SmtpProvider smtp("primary-smtp", s, multi);
  int accepted = 0, done = 0;
  for (int i = 0; i < 12; ++i)
    smtp.send(mail("user" + std::to_string(i) + "@example.jp", false), [&](Outcome o) {
      ++done;
      accepted += o.kind == OutcomeKind::accepted;
    });
  ASSERT_TRUE(run_until(io, [&] { return done == 12; }));
  EXPECT_EQ(accepted, 12);
  EXPECT_LE(summary(12)["sessions"].get<int>(), 2)
      << "12 messages over at most `pool` SMTP connections";
}

TEST(Smtp, InvalidEnvelopeIsPermanentWithoutNetwork) {
  asio::io_context io;
  curl::Multi multi(io);
  SmtpSettings s;
  s.url = "smtp://127.0.0.1:1";
  s.from_address = "no-reply@clinic.example.jp";
  SmtpProvider smtp("x", s, multi);
  auto e = mail("hanako@example.jp", true);
  e.unsubscribe_url.clear();
  std::optional<Outcome> got;
  smtp.send(e, [&](Outcome o) { got = std::move(o); });
  ASSERT_TRUE(run_until(io, [&] { return got.has_value(); }));
  EXPECT_EQ(got->kind, OutcomeKind::permanent);
  EXPECT_FALSE(got->suppress_address);
}

}  // namespace
}  // namespace dispatcher::channels::email
