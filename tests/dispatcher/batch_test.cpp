// The gate's stages driven one by one against a real redis-server, with a Runtime opened from
// a real config file (the shipped policy and templates): what each stage asks Redis, what it
// makes of the answers, and what finish_commands leaves behind.
#include "dispatcher/batch.hpp"

#include <gtest/gtest.h>

#include <map>

#include "dispatcher/runtime_env.hpp"
#include "model/unsubscribe_token.hpp"
#include "store/subject_requests.hpp"
#include "store/subject_store.hpp"

namespace dispatcher {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using redis::cmd;
using redis::Command;
using redis::Reply;

TimePoint at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

// Noon in Tokyo: outside the shipped quiet hours (21:00–08:00 Asia/Tokyo).
const TimePoint noon_tokyo = at("2026-11-25T12:00:00+09:00");

json reminder(const std::string& id, json to = {{"subscriber", "m-123"}}, json channels = {"sms"}) {
  return {{"id", id},
          {"sender", "clinic:c-102"},
          {"purpose", "reservation"},
          {"to", std::move(to)},
          {"channels", std::move(channels)},
          {"template", "reservation.reminder"},
          {"data",
           {{"name", "太郎"},
            {"clinic_name", "さくら歯科"},
            {"starts_at", "2026-12-01T10:00:00+09:00"},
            {"clinic_phone", "03-1234-5678"},
            {"reservation_url", "https://example.jp/r/1"}}}};
}

json campaign(const std::string& id, const std::string& subscriber = "m-123",
              json channels = {"push"}) {
  return {{"id", id},
          {"sender", "operator"},
          {"purpose", "campaign"},
          {"to", {{"subscriber", subscriber}}},
          {"channels", std::move(channels)},
          {"template", "campaign.announcement"},
          {"data",
           {{"name", "太郎"},
            {"campaign_title", "冬のキャンペーン"},
            {"period", "12月末まで"},
            {"details", "ポイント2倍"},
            {"campaign_url", "https://example.jp/c/winter"}}}};
}

class GateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    put(R"({"id":"m-123","member":true,"clinics":["c-1","c-102"],"email":"taro@example.jp","phone":"+819012345678",
            "push":[{"platform":"fcm","token":"tok-1"},{"platform":"apns","token":"tok-2"}],
            "locale":"ja","tz":"Asia/Tokyo"})");
  }

  void put(const std::string& subscriber_json) {
    auto parsed = parse_subscriber(subscriber_json, rt().config.phone_region);
    ASSERT_TRUE(std::holds_alternative<Subscriber>(parsed))
        << std::get<Invalid>(parsed).reason << ": " << std::get<Invalid>(parsed).detail;
    exec(put_subscriber(rt().keys, std::get<Subscriber>(parsed), rt().secret));
  }

  const Runtime& rt() const { return env_.runtime(); }
  const Keys& keys() const { return rt().keys; }

  std::vector<Reply> exec(const std::vector<Command>& cmds) {
    auto replies = redis_.exec(cmds);
    EXPECT_EQ(redis::first_error(cmds, replies), "");
    return replies;
  }

  static Work work(const json& message, const std::string& entry_id = "") {
    Work w;
    w.entry_id = entry_id;
    w.payload = message.dump();
    return w;
  }

  // What the consumer does before the providers: parse, resolve, state, decide, prepare.
  void through_gate(std::vector<Work>& batch, TimePoint now, bool claim = true) {
    for (Work& w : batch)
      if (w.fate == Fate::pending) gate_.parse(w);
    std::vector<Command> cmds;
    auto spans = gate_.resolve_commands(batch, claim, cmds);
    auto replies = redis_.exec(cmds);
    gate_.resolve_apply(batch, claim, spans, replies);
    cmds.clear();
    spans = gate_.state_commands(batch, now, cmds);
    replies = exec(cmds);
    gate_.state_apply(batch, spans, replies);
    gate_.decide_batch(batch, now);
    for (Work& w : batch) gate_.prepare(w, now);
  }

  // What a provider's acceptance makes of a send (the consumer's on_outcome).
  static void accept(std::vector<Work>& batch) {
    for (Work& w : batch) {
      if (w.fate != Fate::pending) continue;
      w.fate = Fate::sent;
      w.outcome.provider = "outbox";
      w.outcome.provider_message_id = "outbox:" + w.msg->id;
      w.outcome.latency = 1500us;
    }
  }

  // The consumer's last stage: the audit rows (one statement), then the Redis side.
  void finish(std::vector<Work>& batch, TimePoint now) {
    std::vector<Command> cmds;
    AuditBatch audit;
    gate_.finish_commands(batch, now, cmds, audit);
    if (!audit.empty()) pg_.exec(AuditBatch::insert_sql(), {audit.param()});
    exec(cmds);
  }
  void apply(const SubjectChange& change) { apply_change(pg_, redis_, keys(), change); }

  // Enqueues payloads and reads them as a consumer of the group would: pending, unacknowledged.
  std::vector<Work> read_from_stream(const std::vector<std::string>& payloads) {
    redis_.run(
        cmd("XGROUP", "CREATE", keys().stream(), rt().config.consumer.group, "0", "MKSTREAM"));
    for (const auto& p : payloads) exec({cmd("XADD", keys().stream(), "*", "payload", p)});
    Reply r = redis_.run(cmd("XREADGROUP", "GROUP", rt().config.consumer.group, "gate-test",
                             "COUNT", "100", "STREAMS", keys().stream(), ">"));
    std::vector<Work> works;
    if (r.elements.empty()) return works;
    for (const Reply& e : r.elements[0].elements[1].elements) {
      Work w;
      w.entry_id = e.elements[0].str;
      w.payload = e.elements[1].elements[1].str;
      works.push_back(std::move(w));
    }
    return works;
  }

  long long pending() {
    Reply r = redis_.run(cmd("XPENDING", keys().stream(), rt().config.consumer.group));
    return r.elements.empty() ? -1 : r.elements[0].integer;
  }
  std::string get(const std::string& key) { return redis_.run(cmd("GET", key)).str; }
  std::vector<json> history(const std::string& subject) {
    std::vector<json> out;
    for (const auto& line : env_.database().history(subject)) out.push_back(json::parse(line));
    return out;
  }
  std::map<std::string, std::string> hash(const std::string& key) {
    std::map<std::string, std::string> out;
    Reply r = redis_.run(cmd("HGETALL", key));
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
      out[r.elements[i].str] = r.elements[i + 1].str;
    return out;
  }

  testing_support::RuntimeEnv env_;
  redis::SyncClient redis_ = env_.redis();
  pg::Connection pg_ = env_.database().connect();
  Gate gate_{env_.runtime()};
};

TEST_F(GateTest, ParseKeepsTheMessageOrDeadLettersItWithTheReason) {
  Work ok = work(reminder("r-1"));
  gate_.parse(ok);
  EXPECT_EQ(ok.fate, Fate::pending);
  ASSERT_TRUE(ok.msg);
  EXPECT_EQ(ok.msg->id, "r-1");
  EXPECT_FALSE(ok.marketing);

  Work ad = work(campaign("c-1"));
  gate_.parse(ad);
  EXPECT_TRUE(ad.marketing);  // the policy's list, not a copy of it

  Work not_json;
  not_json.payload = "{this is not json";
  gate_.parse(not_json);
  EXPECT_EQ(not_json.fate, Fate::dead);
  EXPECT_EQ(not_json.reason, "invalid_message:not_json");
  EXPECT_FALSE(not_json.detail.empty());

  json bad = reminder("r-2");
  bad["purpose"] = "gossip";
  Work unknown_purpose = work(bad);
  gate_.parse(unknown_purpose);
  EXPECT_EQ(unknown_purpose.reason, "invalid_message:unknown_purpose");

  bad = reminder("r-3");
  bad["template"] = "reservation.nonexistent";
  Work unknown_template = work(bad);
  gate_.parse(unknown_template);
  EXPECT_EQ(unknown_template.reason, "invalid_message:unknown_template");
}

TEST_F(GateTest, ResolveLoadsTheSubscriberAndAnInlineContact) {
  std::vector<Work> batch{work(reminder("r-1")),
                          work(reminder("r-2", {{"contact", {{"phone", "+819011112222"}}},
                                                {"clinic", "c-102"},
                                                {"source", "patient_registry"}})),
                          work(reminder("r-3", {{"subscriber", "m-nobody"}}))};
  for (Work& w : batch) gate_.parse(w);
  std::vector<Command> cmds;
  const auto spans = gate_.resolve_commands(batch, true, cmds);
  gate_.resolve_apply(batch, true, spans, exec(cmds));

  EXPECT_TRUE(batch[0].claimed);
  EXPECT_EQ(batch[0].subject, "m-123");
  EXPECT_TRUE(batch[0].recipient.member);
  EXPECT_EQ(batch[0].recipient.contact.phone, "+819012345678");
  EXPECT_EQ(batch[0].hashes.phone, address_hash("+819012345678", rt().secret));
  ASSERT_NE(batch[0].tmpl, nullptr);
  EXPECT_EQ(batch[0].tmpl->locale(), "ja");  // the subscriber's

  Contact c;
  c.phone = "+819011112222";
  EXPECT_EQ(batch[1].subject, inline_subject_key(c, rt().secret));
  EXPECT_FALSE(batch[1].recipient.member);
  EXPECT_EQ(batch[1].recipient.clinic, "c-102");
  EXPECT_EQ(batch[1].recipient.source, "patient_registry");

  EXPECT_EQ(batch[2].fate, Fate::dead);
  EXPECT_EQ(batch[2].reason, "invalid_message:unknown_subscriber");
}

TEST_F(GateTest, ADuplicateIdIsADuplicateOnTheSecondClaim) {
  std::vector<Work> first{work(reminder("r-1"), "1-0")};
  through_gate(first, noon_tokyo);
  EXPECT_TRUE(first[0].claimed);
  EXPECT_FALSE(first[0].redelivered);
  EXPECT_EQ(get(keys().done(message_key("clinic:c-102", "r-1"))),
            "c:1-0");  // held while it is delivered

  // Enqueued again (another stream entry): the claim is someone else's.
  std::vector<Work> again{work(reminder("r-1"), "2-0")};
  through_gate(again, noon_tokyo);
  EXPECT_EQ(again[0].fate, Fate::duplicate);
  EXPECT_FALSE(again[0].claimed);
  EXPECT_EQ(gate_.explain_line(again[0]), (json{{"id", "r-1"}, {"decision", "duplicate"}}));

  // The same entry delivered again (its consumer died): it holds the claim, and knows it may
  // have been sent already.
  std::vector<Work> redelivery{work(reminder("r-1"), "1-0")};
  through_gate(redelivery, noon_tokyo);
  EXPECT_EQ(redelivery[0].fate, Fate::pending);
  EXPECT_TRUE(redelivery[0].claimed);
  EXPECT_TRUE(redelivery[0].redelivered);

  // Once decided, every later copy is a duplicate, in the same batch or later.
  accept(redelivery);
  finish(redelivery, noon_tokyo);
  EXPECT_EQ(get(keys().done(message_key("clinic:c-102", "r-1"))), "send");
  std::vector<Work> two{work(reminder("r-1"), "3-0"), work(reminder("r-1"), "3-1")};
  through_gate(two, noon_tokyo);
  EXPECT_EQ(two[0].fate, Fate::duplicate);
  EXPECT_EQ(two[1].fate, Fate::duplicate);
}

TEST_F(GateTest, TwoCopiesInOneBatchAreOneMessage) {
  std::vector<Work> batch{work(reminder("r-1"), "1-0"), work(reminder("r-1"), "1-1")};
  through_gate(batch, noon_tokyo);
  EXPECT_EQ(batch[0].fate, Fate::pending);
  EXPECT_EQ(batch[1].fate, Fate::duplicate);
}

// DESIGN.md: "the same (sender, id) is delivered at most once …; two senders' equal ids are two
// messages." The idempotency record is keyed by message_key(sender, id).
TEST_F(GateTest, TwoSendersEqualIdsAreTwoMessages) {
  json from_operator = reminder("rsv-1");
  from_operator["sender"] = "operator";
  std::vector<Work> batch{work(reminder("rsv-1"), "1-0"), work(from_operator, "1-1")};
  through_gate(batch, noon_tokyo);
  EXPECT_EQ(batch[0].fate, Fate::pending);
  EXPECT_EQ(batch[1].fate, Fate::pending) << "taken for a duplicate of clinic:c-102's rsv-1";
  EXPECT_EQ(get(keys().done(message_key("clinic:c-102", "rsv-1"))), "c:1-0");
  EXPECT_EQ(get(keys().done(message_key("operator", "rsv-1"))), "c:1-1");
  // … and the same sender's id twice is still one message.
  std::vector<Work> again{work(reminder("rsv-1"), "1-2")};
  through_gate(again, noon_tokyo);
  EXPECT_EQ(again[0].fate, Fate::duplicate);
}

TEST_F(GateTest, ExplainSeesAnIdAlreadyDecidedWithoutClaimingAnything) {
  std::vector<Work> preview{work(reminder("r-1"))};
  through_gate(preview, noon_tokyo, /*claim=*/false);
  EXPECT_EQ(preview[0].fate, Fate::pending);
  EXPECT_FALSE(preview[0].claimed);
  EXPECT_TRUE(redis_.run(cmd("GET", keys().done(message_key("clinic:c-102", "r-1"))))
                  .is_nil());  // nothing was written

  exec({cmd("SET", keys().done(message_key("clinic:c-102", "r-1")), "send")});
  std::vector<Work> after{work(reminder("r-1"))};
  through_gate(after, noon_tokyo, /*claim=*/false);
  EXPECT_EQ(after[0].fate, Fate::duplicate);
  EXPECT_EQ(gate_.explain_line(after[0]), (json{{"id", "r-1"}, {"decision", "duplicate"}}));
}

TEST_F(GateTest, AnOptedOutSubjectIsDeniedWithThePolicysReason) {
  const SubjectRef s = resolve_subject("m-123", rt().secret);
  apply(optout_change(keys(), s, "purpose:campaign", true, "test", noon_tokyo));
  std::vector<Work> batch{work(campaign("c-1")), work(reminder("r-1"))};
  through_gate(batch, noon_tokyo);

  EXPECT_EQ(batch[0].fate, Fate::decided);
  EXPECT_EQ(batch[0].decision.verdict, policy::Verdict::deny);
  EXPECT_EQ(batch[0].decision.reason, "opted_out:purpose:campaign");
  EXPECT_EQ(gate_.explain_line(batch[0]),
            (json{{"id", "c-1"}, {"decision", "deny"}, {"reason", "opted_out:purpose:campaign"}}));
  // The reminder is another purpose: it still goes.
  EXPECT_EQ(batch[1].fate, Fate::pending);
  EXPECT_EQ(gate_.explain_line(batch[1]),
            (json{{"id", "r-1"}, {"decision", "send"}, {"channel", "sms"}}));
}

TEST_F(GateTest, AnErasedSubjectIsDeniedNotUnknown) {
  const SubjectRef s = resolve_subject("m-123", rt().secret);
  Reply record = redis_.run(cmd("HGETALL", keys().subscriber("m-123")));
  apply(erase_change(keys(), s, record, "test", noon_tokyo));
  std::vector<Work> batch{work(reminder("r-1")),
                          work(reminder("r-2",
                                        {{"contact", {{"email", "taro@example.jp"}}},
                                         {"clinic", "c-102"},
                                         {"source", "reservation_form"}},
                                        {"email"}))};
  through_gate(batch, noon_tokyo);
  for (const Work& w : batch) {
    EXPECT_EQ(w.fate, Fate::decided) << w.msg->id << " " << w.reason;
    EXPECT_EQ(w.decision.reason, "subject_erased") << w.msg->id;
  }
}

TEST_F(GateTest, AFrequencyCapCountsEarlierSendsInTheSameBatch) {
  // The shipped cap: 3 marketing messages per 7 days. Nothing was sent before this batch.
  ASSERT_EQ(rt().policy->cap_count(), 3);
  std::vector<Work> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(work(campaign("c-" + std::to_string(i))));
  batch.insert(batch.begin() + 2, work(reminder("r-1")));  // not marketing: not counted
  through_gate(batch, noon_tokyo);
  std::vector<std::string> decisions;
  for (const Work& w : batch)
    decisions.push_back(w.fate == Fate::pending ? "send" : w.decision.reason);
  EXPECT_EQ(decisions, (std::vector<std::string>{"send", "send", "send", "send", "frequency_capped",
                                                 "frequency_capped"}));
}

TEST_F(GateTest, AFrequencyCapCountsSendsOfEarlierBatches) {
  std::vector<Work> earlier{work(campaign("c-1")), work(campaign("c-2"))};
  through_gate(earlier, noon_tokyo - 48h);
  accept(earlier);
  finish(earlier, noon_tokyo - 48h);
  EXPECT_EQ(redis_.run(cmd("ZCARD", keys().frequency("m-123"))).integer, 2);

  std::vector<Work> now{work(campaign("c-3")), work(campaign("c-4"))};
  through_gate(now, noon_tokyo);
  EXPECT_EQ(now[0].state.marketing_sent_in_window, 2);
  EXPECT_EQ(now[0].fate, Fate::pending);
  EXPECT_EQ(now[1].fate, Fate::decided);
  EXPECT_EQ(now[1].decision.reason, "frequency_capped");

  // A week later the earlier sends are out of the window.
  std::vector<Work> later{work(campaign("c-5")), work(campaign("c-6"))};
  through_gate(later, noon_tokyo + 6 * 24h);
  EXPECT_EQ(later[0].state.marketing_sent_in_window, 0);
  EXPECT_EQ(later[1].fate, Fate::pending);
}

TEST_F(GateTest, QuietHoursDeferInTheRecipientsZone) {
  put(R"({"id":"m-ny","member":true,"clinics":["c-1","c-102"],"push":[{"platform":"fcm","token":"tok-ny"}],
          "tz":"America/New_York"})");
  // Noon in Tokyo is 22:00 the evening before in New York: inside 21:00–08:00.
  std::vector<Work> batch{work(campaign("c-ny", "m-ny")), work(campaign("c-jp"))};
  through_gate(batch, noon_tokyo);
  ASSERT_EQ(batch[0].fate, Fate::decided);
  EXPECT_EQ(batch[0].decision.verdict, policy::Verdict::defer);
  EXPECT_EQ(gate_.explain_line(batch[0]), (json{{"id", "c-ny"},
                                                {"decision", "defer"},
                                                {"reason", "quiet_hours"},
                                                {"until", "2026-11-25T08:00:00-05:00"}}));
  EXPECT_EQ(batch[1].fate, Fate::pending);
}

TEST_F(GateTest, PrepareRendersTheChosenChannelsEnvelope) {
  std::vector<Work> batch{work(reminder("r-1"))};
  through_gate(batch, noon_tokyo);
  ASSERT_EQ(batch[0].fate, Fate::pending) << batch[0].reason;
  const channels::Envelope& e = batch[0].envelope;
  EXPECT_EQ(e.channel, Channel::sms);
  EXPECT_EQ(e.message_id, "r-1");
  EXPECT_EQ(e.to, "+819012345678");
  EXPECT_EQ(e.purpose, "reservation");
  EXPECT_FALSE(e.marketing);
  EXPECT_NE(e.sms_text.find("【さくら歯科】太郎様"), std::string::npos) << e.sms_text;
  // The RFC 3339 time is shown as people read it, in the recipient's zone.
  EXPECT_NE(e.sms_text.find("12月1日(火) 10:00"), std::string::npos) << e.sms_text;
  EXPECT_EQ(e.sms_text.find("2026-12-01T"), std::string::npos) << e.sms_text;
}

TEST_F(GateTest, PreparePassesOverASuppressedPushToken) {
  exec(suppress_commands(keys(), address_hash("tok-1", rt().secret), "push", "fcm", "UNREGISTERED",
                         noon_tokyo));
  std::vector<Work> batch{work(campaign("c-1"))};
  through_gate(batch, noon_tokyo);
  ASSERT_EQ(batch[0].fate, Fate::pending);
  EXPECT_EQ(batch[0].envelope.to, "tok-2");
  EXPECT_EQ(batch[0].envelope.push_platform, "apns");
  EXPECT_NE(batch[0].envelope.push_title.find("冬のキャンペーン"), std::string::npos);
}

TEST_F(GateTest, AMarketingEmailCarriesASignedUnsubscribeLinkForItsSubjectAndPurpose) {
  const SubjectRef s = resolve_subject("m-123", rt().secret);
  apply(consent_change(keys(), s, Channel::email, {"signup", "v1", "test"}, noon_tokyo));
  std::vector<Work> batch{work(campaign("c-1", "m-123", {"email"}))};
  through_gate(batch, noon_tokyo);
  ASSERT_EQ(batch[0].fate, Fate::pending) << batch[0].decision.reason;
  const channels::Envelope& e = batch[0].envelope;
  EXPECT_TRUE(e.marketing);
  EXPECT_EQ(e.to, "taro@example.jp");
  const std::string& base = rt().config.unsubscribe.base_url;
  ASSERT_EQ(e.unsubscribe_url.rfind(base, 0), 0u) << e.unsubscribe_url;
  EXPECT_EQ(e.unsubscribe_mailto, rt().config.unsubscribe.mailto);
  auto claims = verify_token(e.unsubscribe_url.substr(base.size()), rt().secret, noon_tokyo);
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->ref, subject_ref("m-123", rt().secret));
  EXPECT_EQ(claims->scope, "purpose:campaign");
  EXPECT_EQ(claims->channel, Channel::email) << "the page may take a consent for e-mail only";
  EXPECT_EQ(e.unsubscribe_url.find("m-123"), std::string::npos);
  EXPECT_NE(e.text.find(e.unsubscribe_url), std::string::npos);  // and in the footer
}

TEST_F(GateTest, AMessageThatCannotRenderIsDeadLetteredAndReleasesItsId) {
  json broken = reminder("r-1");
  broken["data"].erase("clinic_name");
  std::vector<Work> batch{work(broken, "1-0")};
  through_gate(batch, noon_tokyo);
  EXPECT_EQ(batch[0].fate, Fate::dead);
  EXPECT_EQ(batch[0].reason, "template_missing_variable:clinic_name");
  finish(batch, noon_tokyo);
  EXPECT_TRUE(redis_.run(cmd("GET", keys().done(message_key("clinic:c-102", "r-1")))).is_nil());

  // The producer corrects it and sends the same id again: it is a new message, not a duplicate.
  std::vector<Work> fixed{work(reminder("r-1"), "2-0")};
  through_gate(fixed, noon_tokyo);
  EXPECT_EQ(fixed[0].fate, Fate::pending);
}

TEST_F(GateTest, ARedisErrorOnOneClaimLeavesTheRestOfTheBatchResolved) {
  // Something else holds r-1's idempotency key as a list: its SET ... GET fails (WRONGTYPE).
  exec({cmd("RPUSH", keys().done(message_key("clinic:c-102", "r-1")), "x")});
  std::vector<Work> batch{work(reminder("r-1"), "1-0"), work(reminder("r-2"), "1-1")};
  through_gate(batch, noon_tokyo);
  EXPECT_EQ(batch[0].fate, Fate::dead);
  EXPECT_EQ(batch[0].reason, "redis_error");
  // The next message is resolved as if nothing happened: its subscriber, its send.
  EXPECT_EQ(batch[1].subject, "m-123");
  EXPECT_EQ(batch[1].fate, Fate::pending) << batch[1].decision.reason;
  EXPECT_EQ(batch[1].envelope.to, "+819012345678");
}

TEST_F(GateTest, FinishAcknowledgesEveryEntryAndRecordsEveryFate) {
  put(R"({"id":"m-ny","member":true,"clinics":["c-1","c-102"],"push":[{"platform":"fcm","token":"tok-ny"}],
          "tz":"America/New_York"})");
  apply(optout_change(keys(), resolve_subject("m-123", rt().secret), "purpose:campaign", true,
                      "test", noon_tokyo));
  std::vector<Work> batch = read_from_stream({
      reminder("r-1").dump(),           // send
      campaign("c-1").dump(),           // deny: opted out
      "{not json",                      // dead letter
      reminder("r-1").dump(),           // duplicate of the first
      campaign("c-ny", "m-ny").dump(),  // defer: night in New York
  });
  ASSERT_EQ(batch.size(), 5u);
  ASSERT_EQ(pending(), 5);
  through_gate(batch, noon_tokyo);
  accept(batch);
  std::vector<Fate> fates;
  for (const Work& w : batch) fates.push_back(w.fate);
  ASSERT_EQ(fates, (std::vector<Fate>{Fate::sent, Fate::decided, Fate::dead, Fate::duplicate,
                                      Fate::decided}));
  finish(batch, noon_tokyo);

  EXPECT_EQ(pending(), 0);  // every entry acknowledged, whatever became of it
  // … and removed: the stream holds what waits, not everything ever processed.
  EXPECT_EQ(redis_.run(cmd("XLEN", keys().stream())).integer, 0);

  // Idempotency records, for the idempotency window.
  EXPECT_EQ(get(keys().done(message_key("clinic:c-102", "r-1"))), "send");
  EXPECT_EQ(get(keys().done(message_key("operator", "c-1"))), "deny");
  const long long ttl =
      redis_.run(cmd("PTTL", keys().done(message_key("clinic:c-102", "r-1")))).integer;
  EXPECT_GT(ttl, 29LL * 86400000);
  EXPECT_LE(ttl, 30LL * 86400000);
  // The deferred one waits in the scheduled set until the window opens, its id free again.
  EXPECT_TRUE(redis_.run(cmd("GET", keys().done(message_key("operator", "c-ny")))).is_nil());
  EXPECT_EQ(redis_.run(cmd("ZSCORE", keys().scheduled(), message_key("operator", "c-ny"))).str,
            std::to_string(to_epoch_ms(at("2026-11-25T08:00:00-05:00"))));
  EXPECT_EQ(hash(keys().sched(message_key("operator", "c-ny")))["payload"], batch[4].payload);

  // The dead letter keeps its payload and reason.
  Reply dead = redis_.run(cmd("XRANGE", keys().dead(), "-", "+"));
  ASSERT_EQ(dead.elements.size(), 1u);
  std::map<std::string, std::string> letter;
  const auto& f = dead.elements[0].elements[1].elements;
  for (std::size_t i = 0; i + 1 < f.size(); i += 2) letter[f[i].str] = f[i + 1].str;
  EXPECT_EQ(letter["reason"], "invalid_message:not_json");
  EXPECT_EQ(letter["payload"], "{not json");

  // The audit: the send and the denial for m-123, the deferral for m-ny; nothing for the copy.
  std::vector<json> h;
  for (json& r : history("m-123"))
    if (r["event"] == "decision") h.push_back(std::move(r));  // not the opt-out itself
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0]["id"], "r-1");
  EXPECT_EQ(h[0]["decision"], "send");
  EXPECT_EQ(h[0]["channel"], "sms");
  EXPECT_EQ(h[0]["provider"], "outbox");
  EXPECT_EQ(h[0]["attempts"], 1);
  EXPECT_EQ(h[1]["id"], "c-1");
  EXPECT_EQ(h[1]["decision"], "deny");
  EXPECT_EQ(h[1]["reason"], "opted_out:purpose:campaign");
  auto ny = history("m-ny");
  ASSERT_EQ(ny.size(), 1u);
  EXPECT_EQ(ny[0]["decision"], "defer");
  EXPECT_EQ(ny[0]["until"], "2026-11-25T08:00:00-05:00");

  // The counters behind /metrics, and the provider latency histogram.
  auto stats = hash(keys().stats());
  EXPECT_EQ(stats["sent\tsms"], "1");
  EXPECT_EQ(stats["denied\topted_out:purpose:campaign"], "1");
  EXPECT_EQ(stats["dead_letter\tinvalid_message:not_json"], "1");
  EXPECT_EQ(stats["duplicate\t"], "1");
  EXPECT_EQ(stats["deferred\tquiet_hours"], "1");
  EXPECT_EQ(stats["latency\toutbox\taccepted\t1"], "1");  // 1.5 ms: the 2.5 ms bucket
  EXPECT_EQ(stats["latency_us\toutbox\taccepted"], "1500");

  // And explain prints the dead letter as it would be recorded.
  EXPECT_EQ(gate_.explain_line(batch[2]), (json{{"id", nullptr},
                                                {"decision", "deny"},
                                                {"reason", "invalid_message:not_json"},
                                                {"dead_letter", true}}));
}

TEST_F(GateTest, FinishRecordsAMarketingSendForTheCapAndTheUnsubscribeLink) {
  std::vector<Work> batch = read_from_stream({campaign("c-1").dump()});
  through_gate(batch, noon_tokyo);
  accept(batch);
  finish(batch, noon_tokyo);
  Reply sends = redis_.run(cmd("ZRANGE", keys().frequency("m-123"), "0", "-1", "WITHSCORES"));
  ASSERT_EQ(sends.elements.size(), 2u);
  EXPECT_EQ(sends.elements[1].str, std::to_string(to_epoch_ms(noon_tokyo)));
  const long long ttl = redis_.run(cmd("PTTL", keys().frequency("m-123"))).integer;
  EXPECT_GT(ttl, 6LL * 86400000);  // kept for the cap's window, no longer
  EXPECT_LE(ttl, 7LL * 86400000);
  // The link's opaque reference leads back to the subject.
  EXPECT_EQ(get(keys().unsubscribe_ref(subject_ref("m-123", rt().secret))), "m-123");
}

TEST_F(GateTest, FinishOfARetryReschedulesWithOneMoreAttempt) {
  std::vector<Work> batch = read_from_stream({reminder("r-1").dump()});
  through_gate(batch, noon_tokyo);
  batch[0].fate = Fate::retry;
  batch[0].retry_delay = 30s;
  batch[0].attempts = 2;
  finish(batch, noon_tokyo);
  EXPECT_EQ(pending(), 0);
  EXPECT_EQ(redis_.run(cmd("ZSCORE", keys().scheduled(), message_key("clinic:c-102", "r-1"))).str,
            std::to_string(to_epoch_ms(noon_tokyo + 30s)));
  EXPECT_EQ(hash(keys().sched(message_key("clinic:c-102", "r-1")))["attempts"], "3");
  EXPECT_TRUE(redis_.run(cmd("GET", keys().done(message_key("clinic:c-102", "r-1"))))
                  .is_nil());             // free for the retry
  EXPECT_TRUE(history("m-123").empty());  // not decided yet
}

TEST_F(GateTest, ABatchDecidedAgainAfterACrashBeforeItsAcknowledgementIsRecordedOnce) {
  // The consumer wrote the batch's audit rows and died before the Redis side (idempotency
  // records, acknowledgement): the entries stay pending, and whoever claims them decides and
  // records them again — with the same entry ids, so no decision row is doubled.
  std::vector<Work> batch = read_from_stream(
      {reminder("r-1").dump(), reminder("r-2").dump(), "not json", campaign("c-1").dump()});
  ASSERT_EQ(batch.size(), 4u);
  through_gate(batch, noon_tokyo);
  accept(batch);
  std::vector<Command> redis_side;
  AuditBatch audit;
  gate_.finish_commands(batch, noon_tokyo, redis_side, audit);
  pg_.exec(AuditBatch::insert_sql(), {audit.param()});
  // The crash: redis_side never reaches Redis.
  EXPECT_EQ(pending(), 4);

  Reply again = redis_.run(cmd("XREADGROUP", "GROUP", rt().config.consumer.group, "gate-test",
                               "COUNT", "100", "STREAMS", keys().stream(), "0"));
  std::vector<Work> redelivery;
  for (const Reply& e : again.elements.at(0).elements.at(1).elements) {
    Work w;
    w.entry_id = e.elements[0].str;
    w.payload = e.elements[1].elements[1].str;
    redelivery.push_back(std::move(w));
  }
  ASSERT_EQ(redelivery.size(), 4u);
  through_gate(redelivery, noon_tokyo + 1min);
  accept(redelivery);
  finish(redelivery, noon_tokyo + 1min);
  EXPECT_EQ(pending(), 0);

  auto rows = pg_.exec(
      "SELECT coalesce(message_id, ''), event, count(*) FROM audit GROUP BY 1, 2 ORDER BY 1, 2");
  std::vector<std::vector<std::string>> seen;
  for (const auto& r : rows.rows) seen.push_back({*r[0], *r[1], *r[2]});
  EXPECT_EQ(seen, (std::vector<std::vector<std::string>>{{"", "dead_letter", "1"},
                                                         {"c-1", "decision", "1"},
                                                         {"r-1", "decision", "1"},
                                                         {"r-2", "decision", "1"}}));
}

}  // namespace
}  // namespace dispatcher
