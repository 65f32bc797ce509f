#include "channels/line/line.hpp"

#include <gtest/gtest.h>

#include <regex>

#include "channels/builtin.hpp"
#include "channels/rate_limit.hpp"
#include "channels/registry.hpp"
#include "channels/support/standin.hpp"
#include "config/clock.hpp"

namespace dispatcher::channels::line {
namespace {

using namespace channels::testing;  // NOLINT
using nlohmann::json;
using std::chrono::system_clock;
namespace asio = boost::asio;

const std::string user = "U4af4980629d4a3e1b9b5b1e5b6a1c2d3";  // a LINE user id's form

system_clock::time_point at(const char* rfc3339) {
  const auto t = parse_rfc3339(rfc3339);
  if (!t) throw std::invalid_argument(rfc3339);
  return *t;
}

bool uuid_form(const std::string& s) {
  static const std::regex form(
      "^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  return std::regex_match(s, form);
}

curl::Response line_answer(long status, const json& body,
                           std::vector<std::pair<std::string, std::string>> headers = {}) {
  curl::Response r;
  r.status = status;
  r.kind = classify_http(status);
  r.body = body.is_string() ? body.get<std::string>() : body.dump();
  r.headers = std::move(headers);
  return r;
}

TEST(LineRetryKey, TheSameForEveryAttemptAndApartForAnotherSender) {
  const std::string key = line_retry_key("operator", "m-1");
  EXPECT_TRUE(uuid_form(key)) << key;
  EXPECT_EQ(key, "789982c2-599c-8c2a-a1dc-9f8e974ea82b")
      << "SHA-256 over \"line-retry-key\\0operator\\0m-1\", version 8, variant 10";
  EXPECT_EQ(line_retry_key("operator", "m-1"), key);
  EXPECT_EQ(line_retry_key("clinic:42", "m-1"), "0ec77d0e-bd88-87e4-ad41-d0d30a352b7f");
  EXPECT_NE(line_retry_key("clinic:42", "m-1"), line_retry_key("clinic:43", "m-1"));
  EXPECT_NE(line_retry_key("operator", "m-2"), key);
  // The separator keeps the two parts apart: ("ab", "c") is not ("a", "bc").
  EXPECT_NE(line_retry_key("group:ab", "c"), line_retry_key("group:a", "bc"));
  for (const char* id : {"", "x", "予約-1", "a-very-long-id-0123456789-0123456789-0123456789"})
    EXPECT_TRUE(uuid_form(line_retry_key("group:7", id))) << id;
}

TEST(LineQuota, NextMonthStartsAtMidnightInJapan) {
  // Mid-December in Japan: 1 January 00:00 JST, which is 31 December 15:00 UTC.
  EXPECT_EQ(next_month_start_jst(at("2026-12-15T03:00:00Z")), at("2027-01-01T00:00:00+09:00"));
  // 23:59:59 on 31 December in Japan is still December.
  EXPECT_EQ(next_month_start_jst(at("2026-12-31T14:59:59Z")), at("2026-12-31T15:00:00Z"));
  // One second later it is January there (still 31 December in UTC): February's start.
  EXPECT_EQ(next_month_start_jst(at("2026-12-31T15:00:00Z")), at("2027-02-01T00:00:00+09:00"));
  // 30 November 20:00 UTC is already 1 December in Japan.
  EXPECT_EQ(next_month_start_jst(at("2026-11-30T20:00:00Z")), at("2027-01-01T00:00:00+09:00"));
  EXPECT_EQ(next_month_start_jst(at("2028-02-29T12:00:00+09:00")), at("2028-03-01T00:00:00+09:00"));
}

TEST(LineRecipient, UserGroupAndRoomIdsOnly) {
  EXPECT_TRUE(line_recipient_form(user));
  EXPECT_TRUE(line_recipient_form("C" + user.substr(1)));
  EXPECT_TRUE(line_recipient_form("R" + user.substr(1)));
  EXPECT_FALSE(line_recipient_form(""));
  EXPECT_FALSE(line_recipient_form("X" + user.substr(1)));
  EXPECT_FALSE(line_recipient_form(user.substr(0, 32)));
  EXPECT_FALSE(line_recipient_form(user + "0"));
  EXPECT_FALSE(line_recipient_form("U4AF4980629D4A3E1B9B5B1E5B6A1C2D3"));
  EXPECT_FALSE(line_recipient_form("+819012345678"));
}

TEST(LineBody, OneTextMessageToOneUser) {
  const json body = json::parse(line_push_body(user, "さくら歯科です。\n明日10:00"));
  EXPECT_EQ(body,
            (json{{"to", user},
                  {"messages",
                   json::array({{{"type", "text"}, {"text", "さくら歯科です。\n明日10:00"}}})}}));
  EXPECT_NO_THROW(json::parse(line_push_body(user, std::string("bad \xff utf-8"))));
}

TEST(LineClassify, AcceptedAndAlreadyAccepted) {
  const auto now = at("2026-12-01T00:00:00Z");
  Outcome o = classify_line(
      line_answer(200, {{"sentMessages", json::array()}}, {{"x-line-request-id", "req-1"}}), now);
  EXPECT_EQ(o.kind, OutcomeKind::accepted);
  EXPECT_EQ(o.provider_message_id, "req-1");
  EXPECT_EQ(classify_line(line_answer(200, json("{}")), now).kind, OutcomeKind::accepted)
      << "a 200 is an acceptance even without a request id";
  o = classify_line(
      line_answer(409, {{"message", "The retry key is already accepted"}},
                  {{"x-line-request-id", "req-2"}, {"x-line-accepted-request-id", "req-1"}}),
      now);
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << "an earlier attempt was delivered";
  EXPECT_EQ(o.provider_message_id, "req-1");
}

TEST(LineClassify, RateQuotaServerAndTransportAreTransient) {
  const auto now = at("2026-12-20T10:00:00+09:00");
  Outcome o = classify_line(
      line_answer(429, {{"message", "Too many requests"}}, {{"retry-after", "3"}}), now);
  EXPECT_EQ(o.kind, OutcomeKind::transient);
  EXPECT_EQ(o.retry_after, std::chrono::seconds(3));
  EXPECT_FALSE(o.exhausted_until);
  o = classify_line(line_answer(429, {{"message", "You have reached your monthly limit."}}), now);
  EXPECT_EQ(o.kind, OutcomeKind::transient);
  ASSERT_TRUE(o.exhausted_until);
  EXPECT_EQ(*o.exhausted_until, at("2027-01-01T00:00:00+09:00"));
  EXPECT_FALSE(o.retry_after);
  EXPECT_NE(o.error.find("monthly"), std::string::npos) << o.error;
  for (long status : {500L, 502L, 503L}) {
    o = classify_line(line_answer(status, json("<html>oops</html>")), now);
    EXPECT_EQ(o.kind, OutcomeKind::transient) << status;
    EXPECT_FALSE(o.exhausted_until);
  }
  curl::Response none;
  none.code = CURLE_OPERATION_TIMEDOUT;
  none.kind = ErrorKind::timeout;
  none.error_text = "Operation timed out";
  o = classify_line(none, now);
  EXPECT_EQ(o.kind, OutcomeKind::transient);
  EXPECT_NE(o.error.find("timed out"), std::string::npos) << o.error;
}

TEST(LineClassify, RefusalsArePermanentAndSayNothingPersonal) {
  const auto now = at("2026-12-01T00:00:00Z");
  Outcome o = classify_line(line_answer(401, {{"message", "Authentication failed."}}), now);
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_EQ(o.error, "LINE rejected the request (HTTP 401: invalid channel access token)");
  EXPECT_EQ(classify_line(line_answer(403, json("{}")), now).error,
            "LINE rejected the request (HTTP 403: not permitted for this channel)");
  o = classify_line(line_answer(400, {{"message", "The property, 'to', " + user +
                                                      " is invalid, call +819012345678"}}),
                    now);
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_EQ(o.error.rfind("LINE rejected the request (HTTP 400: invalid request)", 0), 0u)
      << o.error;
  EXPECT_EQ(o.error.find(user), std::string::npos) << o.error;
  EXPECT_EQ(o.error.find("9012345678"), std::string::npos) << o.error;
  EXPECT_FALSE(o.suppress_address);
  EXPECT_EQ(classify_line(line_answer(404, json("{}")), now).kind, OutcomeKind::permanent);
}

Envelope line_message(std::string id, std::string to = user) {
  Envelope e;
  e.message_id = std::move(id);
  e.sender = "clinic:42";
  e.channel = Channel::line;
  e.to = std::move(to);
  e.line_text = "さくら歯科です。明日10:00のご予約をお待ちしております。";
  return e;
}

struct LineFixture : ::testing::Test {
  TempDir dir;
  TestCert cert = make_cert(dir);
  asio::io_context io;
  curl::Multi multi{io};
  FakeClock clock;

  LineSettings settings(const HttpStandin& s, std::string token = "line-token") {
    LineSettings l;
    l.base_url = s.base() + "/";
    l.channel_access_token = std::move(token);
    l.ca_file = cert.cert;
    return l;
  }
  HttpStandin standin(const json& script = {}) {
    return HttpStandin(dir, "line", &cert, script, {}, {"--bearer", "line-token"});
  }
};

TEST_F(LineFixture, APushArrivesInTheRealWireFormat) {
  HttpStandin server = standin();
  LineProvider p("line-main", settings(server), multi, clock.fn());
  const Outcome o = send_sync(io, p, line_message("m-1"));
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const auto& r = reqs[0];
  EXPECT_EQ(o.provider_message_id, r["request_id"]) << "the x-line-request-id";
  EXPECT_EQ(r["method"], "POST");
  EXPECT_EQ(r["path"], "/v2/bot/message/push");
  EXPECT_EQ(r["headers"]["authorization"], "Bearer line-token");
  EXPECT_EQ(r["headers"]["content-type"], "application/json");
  EXPECT_EQ(r["headers"]["x-line-retry-key"], line_retry_key("clinic:42", "m-1"));
  EXPECT_TRUE(uuid_form(r["headers"]["x-line-retry-key"]));
  EXPECT_EQ(json::parse(r["body"].get<std::string>()),
            (json{{"to", user},
                  {"messages",
                   json::array({{{"type", "text"}, {"text", line_message("m-1").line_text}}})}}));
  EXPECT_EQ(p.connect_targets().at(0).url, server.base()) << "the trailing slash is trimmed";
}

TEST_F(LineFixture, ATimedOutPushRetriedWithItsKeyIsDeliveredOnce) {
  // The first push is accepted but answered only after the client gave up.
  HttpStandin server = standin(json{{user, json::array({{{"accept", true}, {"delay_s", 5}}})}});
  auto s = settings(server);
  s.timeout = std::chrono::milliseconds(1000);
  LineProvider p("line-main", s, multi, clock.fn());
  const Outcome first = send_sync(io, p, line_message("m-1"));
  ASSERT_EQ(first.kind, OutcomeKind::transient) << "a time-out says nothing of delivery";
  const Outcome retry = send_sync(io, p, line_message("m-1"));
  EXPECT_EQ(retry.kind, OutcomeKind::accepted) << retry.error;
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0]["headers"]["x-line-retry-key"], reqs[1]["headers"]["x-line-retry-key"]);
  EXPECT_TRUE(reqs[0]["accepted"].get<bool>());
  EXPECT_FALSE(reqs[1]["accepted"].get<bool>()) << "delivered once";
  EXPECT_EQ(reqs[1]["status"], 409);
  EXPECT_EQ(retry.provider_message_id, reqs[0]["request_id"])
      << "the accepted request's id, from x-line-accepted-request-id";
}

TEST_F(LineFixture, RateAndQuota429sAreTransientTheQuotaOneUntilNextMonth) {
  const std::string rated = "U" + std::string(32, '1'), spent = "U" + std::string(32, '2');
  HttpStandin server = standin(json{
      {rated, json::array({{{"status", 429},
                            {"headers", {{"Retry-After", "3"}}},
                            {"body", {{"message", "Too many requests"}}}}})},
      {spent, json::array({{{"status", 429},
                            {"body", {{"message", "You have reached your monthly limit."}}}}})}});
  clock.t = std::chrono::time_point_cast<std::chrono::milliseconds>(
      at("2026-12-31T10:00:00Z"));  // 19:00 on 31 Dec in Japan
  LineProvider p("line-main", settings(server), multi, clock.fn());
  Outcome o = send_sync(io, p, line_message("m-1", rated));
  EXPECT_EQ(o.kind, OutcomeKind::transient);
  EXPECT_EQ(o.retry_after, std::chrono::seconds(3));
  EXPECT_FALSE(o.exhausted_until);
  o = send_sync(io, p, line_message("m-2", spent));
  EXPECT_EQ(o.kind, OutcomeKind::transient);
  ASSERT_TRUE(o.exhausted_until);
  EXPECT_EQ(*o.exhausted_until, at("2027-01-01T00:00:00+09:00"));
  EXPECT_EQ(o.error.find(spent), std::string::npos) << o.error;
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(LineFixture, AWrongTokenIsPermanentAndABadRecipientNeverLeaves) {
  HttpStandin server = standin();
  LineProvider p("line-main", settings(server, "stale-token"), multi, clock.fn());
  Outcome o = send_sync(io, p, line_message("m-1"));
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_EQ(o.error, "LINE rejected the request (HTTP 401: invalid channel access token)");
  o = send_sync(io, p, line_message("m-2", "+819012345678"));
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_EQ(o.error.find("+81"), std::string::npos) << o.error;
  Envelope empty = line_message("m-3");
  empty.line_text.clear();
  EXPECT_EQ(send_sync(io, p, empty).kind, OutcomeKind::permanent);
  EXPECT_EQ(server.requests().size(), 1u) << "only the well-formed push was sent";
}

// Config: the `line` type through build_channels, as `check` and `serve` read it.
struct LineConfig : LineFixture {
  std::map<std::string, std::string> env{{"LINE_TOKEN", "line-token"}, {"LINE_SECRET", "s3cret"}};
  EnvFn env_fn = [this](const std::string& n) -> std::optional<std::string> {
    auto it = env.find(n);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  Context ctx{io, multi, system_now, env_fn};

  Channels build(const std::string& yaml) {
    ProviderRegistry reg;
    register_builtin_providers(reg);
    return build_channels(config::load_text(yaml, "d.yaml"), reg, ctx);
  }
  std::string error(const std::string& yaml) {
    try {
      build(yaml);
    } catch (const config::LoadError& e) {
      return e.what();
    }
    return "no error";
  }
};

TEST_F(LineConfig, AnEntryBuildsARateLimitedProviderThatSends) {
  HttpStandin server = standin();
  write_file(dir / "token", "line-token\n");
  Channels ch = build("{line: [{type: line, name: line-main, channel_access_token_file: \"" +
                      dir / "token" + "\", channel_secret_env: LINE_SECRET, url: \"" +
                      server.base() + "\", ca_file: \"" + cert.cert + "\", timeout_ms: 5000}]}");
  auto* limited = dynamic_cast<RateLimited*>(ch.get(Channel::line));
  ASSERT_NE(limited, nullptr) << "LINE's 2,000/s applies without a rate of its own";
  EXPECT_NE(dynamic_cast<LineProvider*>(&limited->inner()), nullptr);
  ASSERT_EQ(ch.get(Channel::line)->connect_targets().size(), 1u);
  EXPECT_EQ(ch.get(Channel::line)->connect_targets()[0].url, server.base());
  const Outcome o = send_sync(io, *ch.get(Channel::line), line_message("m-1"));
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  EXPECT_EQ(o.provider, "line-main");
  EXPECT_EQ(server.requests().at(0)["headers"]["authorization"], "Bearer line-token");

  // An explicit rate replaces the default (one limiter, not two).
  Channels own =
      build("{line: [{type: line, channel_access_token_env: LINE_TOKEN, rate: {per_second: 5}}]}");
  auto* once = dynamic_cast<RateLimited*>(own.get(Channel::line));
  ASSERT_NE(once, nullptr);
  EXPECT_NE(dynamic_cast<LineProvider*>(&once->inner()), nullptr);
  EXPECT_EQ(own.get(Channel::line)->connect_targets().at(0).url, "https://api.line.me");
}

TEST_F(LineConfig, MistakesNameTheKeyPath) {
  EXPECT_EQ(error("{line: [{type: line, channel_access_token_env: LINE_TOKEN}]}"), "no error");
  EXPECT_EQ(error("{line: [{type: line}]}"),
            "d.yaml:1:9: channels.line[0].channel_access_token_env: required (or "
            "channel_access_token_file)");
  write_file(dir / "token", "line-token\n");
  EXPECT_NE(error("{line: [{type: line, channel_access_token_env: LINE_TOKEN, "
                  "channel_access_token_file: \"" +
                  dir / "token" + "\"}]}")
                .find("channels.line[0].channel_access_token_env: give either "
                      "channel_access_token_env or channel_access_token_file, not both"),
            std::string::npos);
  EXPECT_EQ(error("{line: [{type: line, channel_access_token_env: LINE_TOKEN, bogus: 1}]}"),
            "d.yaml:1:60: channels.line[0].bogus: unknown key");
  EXPECT_NE(error("{line: [{type: line, channel_access_token: inline}]}")
                .find("channels.line[0].channel_access_token: secrets are never written inline"),
            std::string::npos);
  EXPECT_NE(error("{line: [{type: line, channel_access_token_env: LINE_TOKEN, channel_secret: x}]}")
                .find("channels.line[0].channel_secret: secrets are never written inline"),
            std::string::npos);
  EXPECT_NE(error("{line: [{type: line, channel_access_token_env: LINE_TOKEN, channel_secret_env: "
                  "NOPE}]}")
                .find("channels.line[0].channel_secret_env: environment variable NOPE is not set"),
            std::string::npos);
  EXPECT_NE(error("{line: [{type: line, channel_access_token_env: LINE_TOKEN, url: "
                  "'http://api.line.me'}]}")
                .find("channels.line[0].url: plain http:// is only allowed to a loopback host"),
            std::string::npos);
  EXPECT_NE(error("{line: [{type: line, channel_access_token_env: LINE_TOKEN, timeout_ms: 5}]}")
                .find("channels.line[0].timeout_ms: must be between 100 and 120000"),
            std::string::npos);
}

TEST_F(LineConfig, TheChannelSecretIsReadFromTheSameEntry) {
  write_file(dir / "secret", "file-secret\n");
  const config::Located section = config::load_text(
      "{line: [{type: line, channel_access_token_env: LINE_TOKEN, channel_secret_env: "
      "LINE_SECRET},\n"
      "        {type: line, name: second, channel_access_token_env: LINE_TOKEN},\n"
      "        {type: line, name: third, channel_access_token_env: LINE_TOKEN, "
      "channel_secret_file: \"" +
          dir / "secret" + "\"}]}",
      "d.yaml");
  EXPECT_EQ(line_channel_secret(ProviderEntry{section.node["line"][0], "channels.line[0]", "d.yaml",
                                              "line", Channel::line},
                                env_fn),
            "s3cret");
  EXPECT_EQ(line_channel_secret(ProviderEntry{section.node["line"][1], "channels.line[1]", "d.yaml",
                                              "second", Channel::line},
                                env_fn),
            "")
      << "optional for sending";
  EXPECT_EQ(line_channel_secrets(section, env_fn),
            (std::vector<std::string>{"s3cret", "file-secret"}));
  env.erase("LINE_SECRET");
  try {
    line_channel_secrets(section, env_fn);
    FAIL() << "no error";
  } catch (const config::LoadError& e) {
    EXPECT_NE(
        std::string(e.what()).find(
            "channels.line[0].channel_secret_env: environment variable LINE_SECRET is not set"),
        std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace dispatcher::channels::line
