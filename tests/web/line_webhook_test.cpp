// LINE end to end: `run` pushes reminders to a LINE stand-in speaking the Messaging API, `serve`
// takes LINE's signed follow/unfollow webhook. An unfollow moves a member's reminders to their
// next channel (and history says why); a forged or unsigned webhook changes nothing; a spent
// monthly quota sends messages on by their next channel without asking LINE again.
#include "web/line_webhook.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "channels/support/standin.hpp"
#include "model/message.hpp"
#include "web_env.hpp"

namespace web_testing {
namespace {

using nlohmann::json;
namespace ct = dispatcher::channels::testing;

const std::string kUser = "U4af4980629a1b2c3d4e5f60718293a4b";
const std::string kSecret = "line-channel-secret-0123456789";

json reminder(const std::string& id, std::vector<std::string> channels = {"line", "sms"}) {
  return {{"id", id},
          {"sender", "clinic:c-102"},
          {"purpose", "reservation"},
          {"to", {{"subscriber", "m-line"}}},
          {"channels", channels},
          {"template", "reservation.reminder"},
          {"data",
           {{"name", "山田"},
            {"clinic_name", "さくら歯科"},
            {"starts_at", "12月1日 10:00"},
            {"clinic_phone", "03-1234-5678"}}}};
}

std::vector<json> lines_of(const std::string& text) {
  std::vector<json> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    if (nl > start) out.push_back(json::parse(text.substr(start, nl - start), nullptr, false));
    start = nl + 1;
  }
  return out;
}

// The record `history` shows for message `id` with this decision (or event), if any.
json record_of(WebEnv& env, const std::string& id, const std::string& decision) {
  auto r = env.run({"history", "m-line"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const auto& rec : lines_of(r.out))
    if (rec.value("id", "") == id && rec.value("decision", "") == decision) return rec;
  return nullptr;
}

std::vector<json> outbox(WebEnv& env, const std::string& channel) {
  return lines_of(ct::read_file((env.data_dir() / "outbox" / (channel + ".jsonl")).string()));
}

struct LineEnv {
  ct::TempDir certs;
  ct::TestCert cert = ct::make_cert(certs);
  ct::HttpStandin line;
  WebEnv env;

  explicit LineEnv(const json& script = {})
      : line(certs, "line", &cert, script, {}, {"--bearer", "line-e2e-token"}),
        env({}, {},
            "channels:\n  line:\n    - {type: line, channel_access_token_env: LINE_E2E_TOKEN, "
            "channel_secret_env: LINE_E2E_SECRET, url: \"" +
                line.base() + "\", ca_file: \"" + cert.cert + "\"}\n") {
    put_member();
  }
  static bool set_env() {
    ::setenv("LINE_E2E_TOKEN", "line-e2e-token", 1);
    ::setenv("LINE_E2E_SECRET", kSecret.c_str(), 1);
    return true;
  }
  void put_member() {
    auto r = env.run({"subscriber", "put", "-"}, json{{"id", "m-line"},
                                                      {"member", true},
                                                      {"clinics", {"c-1", "c-102"}},
                                                      {"phone", "+819012345678"},
                                                      {"line", kUser},
                                                      {"locale", "ja"}}
                                                         .dump() +
                                                     "\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void deliver(const json& message) {
    ASSERT_EQ(env.run({"enqueue", "-"}, message.dump() + "\n").exit_code, 0);
    auto run = env.run({"run", "--until-idle"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
  }
  HttpResult webhook(const std::string& body, const std::string& signature) {
    std::map<std::string, std::string> h{{"Content-Type", "application/json"}};
    if (!signature.empty()) h["X-Line-Signature"] = signature;
    return env.request("POST", "/webhooks/line", body, h);
  }
};

const bool env_set = LineEnv::set_env();

std::string event_body(const std::string& type, const std::string& user = kUser) {
  return json{{"destination", "Uffffffffffffffffffffffffffffffff"},
              {"events", json::array({{{"type", type},
                                       {"timestamp", 1764547200000},
                                       {"source", {{"type", "user"}, {"userId", user}}},
                                       {"webhookEventId", "01HXYZ"},
                                       {"mode", "active"}}})}}
      .dump();
}

TEST(LinePipeline, UnfollowMovesRemindersToSmsForgeriesChangeNothing) {
  ASSERT_TRUE(env_set);
  LineEnv e;
  // By LINE first: the message's first channel, a member with a LINE id.
  e.deliver(reminder("line-r1"));
  auto pushes = e.line.requests();
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(json::parse(pushes[0]["body"].get<std::string>())["to"], kUser);
  EXPECT_NE(json::parse(pushes[0]["body"].get<std::string>())["messages"][0]["text"]
                .get<std::string>()
                .find("山田様"),
            std::string::npos);
  EXPECT_EQ(record_of(e.env, "line-r1", "send").value("channel", ""), "line");
  const auto metrics = e.env.get("/metrics").body;
  EXPECT_NE(metrics.find("dispatcher_messages_sent_total{channel=\"line\"} 1"), std::string::npos)
      << metrics;

  // Forged (wrong secret) and unsigned unfollows: 403, Redis exactly as it was.
  const std::string unfollow = event_body("unfollow");
  const auto before = e.env.snapshot();
  EXPECT_EQ(e.webhook(unfollow, dispatcher::web::line_signature("not-the-secret", unfollow)).status,
            403);
  EXPECT_EQ(e.webhook(unfollow, "").status, 403);
  EXPECT_EQ(e.webhook(unfollow, dispatcher::web::line_signature(kSecret, unfollow + " ")).status,
            403)
      << "the signature covers the exact body";
  EXPECT_EQ(e.env.snapshot(), before);
  // A signed event about a user we do not know: 200, nothing written.
  const std::string stranger = event_body("unfollow", "U" + std::string(32, 'e'));
  EXPECT_EQ(e.webhook(stranger, dispatcher::web::line_signature(kSecret, stranger)).status, 200);
  EXPECT_EQ(e.env.snapshot(), before);
  // A signed body that is not a webhook: 400.
  EXPECT_EQ(e.webhook("[]", dispatcher::web::line_signature(kSecret, "[]")).status, 400);

  // The genuine unfollow: an opt-out of channel:line on the member, recorded with its source.
  auto dbg = e.webhook(unfollow, dispatcher::web::line_signature(kSecret, unfollow));
  ASSERT_EQ(dbg.status, 200);
  for (const auto& [k, v] : e.env.snapshot()) std::fprintf(stderr, "KEY %s\n", k.c_str());
  std::fprintf(stderr, "BODY %s\n", dbg.body.c_str());
  EXPECT_FALSE(e.env.state_field("m-line", "optout:channel:line").empty());
  EXPECT_NE(e.env.get("/metrics")
                .body.find("dispatcher_webhooks_total{kind=\"line\",result=\"recorded\"} 1"),
            std::string::npos);
  auto hist = e.env.run({"history", "m-line"});
  bool recorded = false;
  for (const auto& rec : lines_of(hist.out))
    recorded = recorded ||
               (rec.value("event", "") == "optout" && rec.value("scope", "") == "channel:line" &&
                rec.value("recorded_by", "") == "line_webhook");
  EXPECT_TRUE(recorded) << hist.out;
  EXPECT_EQ(hist.out.find(kUser), std::string::npos) << "history holds no LINE id";

  // The next reminder goes by SMS, LINE is not asked, and history says why.
  EXPECT_EQ(e.env.explain(reminder("line-r2"))["channel"], "sms");
  e.deliver(reminder("line-r2"));
  EXPECT_EQ(e.line.requests().size(), 1u);
  const json sent = record_of(e.env, "line-r2", "send");
  EXPECT_EQ(sent.value("channel", ""), "sms") << sent.dump();
  EXPECT_EQ(sent.value("passed_over", ""), "opted_out:channel:line") << sent.dump();
  bool in_outbox = false;
  for (const auto& m : outbox(e.env, "sms"))
    in_outbox = in_outbox || m.value("id", "") == "line-r2";
  EXPECT_TRUE(in_outbox);

  // A follow (the member added the account again) withdraws the opt-out: LINE again.
  const std::string follow = event_body("follow");
  ASSERT_EQ(e.webhook(follow, dispatcher::web::line_signature(kSecret, follow)).status, 200);
  EXPECT_TRUE(e.env.state_field("m-line", "optout:channel:line").empty());
  e.deliver(reminder("line-r3"));
  EXPECT_EQ(e.line.requests().size(), 2u);
  EXPECT_EQ(record_of(e.env, "line-r3", "send").value("channel", ""), "line");
}

TEST(LinePipeline, AWebhookWithoutAConfiguredSecretIsNoRoute) {
  WebEnv env;  // no line provider, so no channel secret
  const std::string body = event_body("unfollow");
  auto r = env.request("POST", "/webhooks/line", body,
                       {{"Content-Type", "application/json"},
                        {"X-Line-Signature", dispatcher::web::line_signature(kSecret, body)}});
  EXPECT_EQ(r.status, 404);
}

TEST(LinePipeline, ASpentMonthlyQuotaFallsOverToTheNextChannelWithoutAskingAgain) {
  ASSERT_TRUE(env_set);
  LineEnv e(json{
      {kUser, json::array({{{"status", 429},
                            {"body", {{"message", "You have reached your monthly limit."}}}}})}});
  e.deliver(reminder("quota-r1"));
  ASSERT_EQ(e.line.requests().size(), 1u);
  json sent = record_of(e.env, "quota-r1", "send");
  EXPECT_EQ(sent.value("channel", ""), "sms") << "fell over, decided again for SMS";
  EXPECT_EQ(sent.value("passed_over", ""), "channel_exhausted:line") << sent.dump();
  // Every consumer (and explain) now passes LINE over until the quota comes back.
  auto spent = e.env.redis().run(dispatcher::redis::cmd("PTTL", "dsp:exhausted:line"));
  EXPECT_GT(spent.integer, 0) << "expires when the month turns";
  EXPECT_EQ(e.env.explain(reminder("quota-r2"))["channel"], "sms");
  e.deliver(reminder("quota-r2"));
  EXPECT_EQ(e.line.requests().size(), 1u) << "no blind retries against a spent quota";
  EXPECT_EQ(record_of(e.env, "quota-r2", "send").value("channel", ""), "sms");
  // With LINE its only channel, a message waits for the quota instead of being denied.
  e.deliver(reminder("quota-r3", {"line"}));
  const json wait = record_of(e.env, "quota-r3", "defer");
  EXPECT_EQ(wait.value("reason", ""), "channel_exhausted:line") << wait.dump();
  EXPECT_EQ(e.line.requests().size(), 1u);
}

}  // namespace
}  // namespace web_testing

namespace dispatcher::web {
namespace {

TEST(LineWebhook, SignatureIsBase64HmacSha256OfTheRawBody) {
  // Computed independently: printf '{"events":[]}' | openssl dgst -sha256 -hmac s3cret -binary |
  // base64
  const std::string body = R"({"events":[]})";
  EXPECT_EQ(line_signature("s3cret", body), "ZuVY0DkZxvoGXoj+QPBt7+gZL2ow1Kpy+nm913XvpIw=");
  EXPECT_TRUE(line_signature_valid("s3cret", body, line_signature("s3cret", body)));
  EXPECT_FALSE(line_signature_valid("s3cret", body, ""));
  EXPECT_FALSE(line_signature_valid("", body, line_signature("", body))) << "no secret, no trust";
  EXPECT_TRUE(line_signature_valid(std::vector<std::string>{"a", "s3cret"}, body,
                                   line_signature("s3cret", body)))
      << "any configured channel's secret";
}

TEST(LineWebhook, KeepsFollowAndUnfollowOfValidUsersInOrder) {
  const std::string a = "U" + std::string(32, 'a'), b = "U" + std::string(32, 'b');
  const nlohmann::json body = {
      {"destination", "x"},
      {"events",
       {{{"type", "unfollow"}, {"source", {{"type", "user"}, {"userId", a}}}},
        {{"type", "message"}, {"source", {{"type", "user"}, {"userId", a}}}},
        {{"type", "follow"}, {"source", {{"type", "group"}, {"groupId", "C1"}}}},
        {{"type", "follow"}, {"source", {{"type", "user"}, {"userId", "not-an-id"}}}},
        {{"type", "follow"}, {"source", {{"type", "user"}, {"userId", b}}}},
        42}}};
  auto parsed = parse_line_events(body.dump(), 32);
  ASSERT_TRUE(std::holds_alternative<std::vector<LineEvent>>(parsed));
  const auto& events = std::get<std::vector<LineEvent>>(parsed);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_FALSE(events[0].follow);
  EXPECT_EQ(events[0].user_id, a);
  EXPECT_TRUE(events[1].follow);
  EXPECT_EQ(events[1].user_id, b);
  for (const char* bad : {"", "[]", "{}", R"({"events": {}})", "{\"events\": [", "null"})
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_line_events(bad, 32))) << bad;
  EXPECT_TRUE(std::holds_alternative<std::string>(
      parse_line_events(std::string(100, '[') + std::string(100, ']'), 32)))
      << "too deep";
}

TEST(LineWebhook, OnlyAUserIdStillTheSubscribersIsActedOn) {
  const Keys k;
  const std::string secret(64, 's');
  const std::string user = "U" + std::string(32, 'c');
  const std::vector<LineEvent> events{{false, user}, {true, user}};
  auto lookup = line_lookup_commands(k, secret, events);
  ASSERT_EQ(lookup.size(), 2u);
  EXPECT_EQ(lookup[0].argv[1], k.line_user(address_hash(user, secret)));
  EXPECT_EQ(lookup[0].argv[1].find(user), std::string::npos) << "keys hold hashes, not ids";

  redis::Reply id;
  id.type = redis::Reply::Type::string;
  id.str = "m-1";
  redis::Reply nil;
  auto check = line_check_commands(k, {id, nil});
  ASSERT_EQ(check.size(), 2u);
  EXPECT_EQ(check[0].argv, (std::vector<std::string>{"HGET", k.subscriber("m-1"), "line_h"}));

  redis::Reply current = id;
  current.str = address_hash(user, secret);
  redis::Reply stale = id;
  stale.str = address_hash("U" + std::string(32, 'd'), secret);
  const TimePoint now = from_epoch_ms(1'764'547'200'000);
  auto change = line_event_change(k, secret, events, {id, id}, {current, stale}, now);
  const auto& cmds = change.redis;
  ASSERT_FALSE(cmds.empty());
  ASSERT_EQ(change.audit.size(), 1u) << "the unfollow alone is recorded";
  EXPECT_EQ(change.audit[0].event, "optout");
  EXPECT_EQ(cmds[0].argv, (std::vector<std::string>{"HSET", k.state("m-1"), "optout:channel:line",
                                                    format_rfc3339(now)}));
  for (const auto& c : cmds) EXPECT_NE(c.argv[0], "HDEL") << "the stale follow changed nothing";
  auto unknown = line_event_change(k, secret, events, {nil, nil}, {nil, nil}, now);
  EXPECT_TRUE(unknown.redis.empty() && unknown.audit.empty()) << "unknown users";
}

}  // namespace
}  // namespace dispatcher::web
