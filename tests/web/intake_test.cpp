// Intake's pure parts: a body into a batch or refusals (400 per invalid element, 403 per element
// the key may not send, the clinic rule read from the policy file), the batch's commands, and
// a cancel's reply into its answer.
#include "web/intake.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "model/keys.hpp"

namespace dispatcher::web {
namespace {

using boost::beast::http::status;
using nlohmann::json;

const policy::Policy& shipped_policy() {
  static const auto p = policy::Policy::load(DISPATCHER_SOURCE_DIR "/config/policy.yaml");
  return p;
}

MessageVocabulary vocabulary() {
  MessageVocabulary v;
  v.known_purpose = [](std::string_view p) { return shipped_policy().known_purpose(p); };
  return v;
}

json reminder(const std::string& id, const std::string& clinic = "c-102") {
  return {{"id", id},
          {"sender", "clinic:" + clinic},
          {"purpose", "reservation"},
          {"to",
           {{"contact", {{"phone", "+819012345678"}}},
            {"clinic", clinic},
            {"source", "patient_registry"}}},
          {"channels", {"sms"}},
          {"template", "reservation.reminder"},
          {"data", json::object()}};
}

json to_member(const std::string& id, const std::string& sender, const std::string& purpose) {
  return {{"id", id},
          {"sender", sender},
          {"purpose", purpose},
          {"to", {{"subscriber", "m-1"}}},
          {"channels", {"email"}},
          {"template", "t.x"}};
}

const ApiKey clinic{"clinic:c-102"};
const ApiKey operator_key{"operator"};

std::variant<IntakeBatch, IntakeRefusal> parse(const std::string& body, const ApiKey& key,
                                               IntakeLimits limits = {}) {
  return parse_intake(body, key, limits, vocabulary());
}

const IntakeRefusal& refusal(const std::variant<IntakeBatch, IntakeRefusal>& v) {
  static const IntakeRefusal none{status::ok, {}};
  auto* r = std::get_if<IntakeRefusal>(&v);
  EXPECT_NE(r, nullptr) << "expected a refusal";
  return r ? *r : none;
}

TEST(IntakeParse, OneMessageOrAnArrayIsABatchWithItsPayloads) {
  auto one = parse(reminder("a-1").dump(), clinic);
  ASSERT_TRUE(std::holds_alternative<IntakeBatch>(one));
  const auto& b = std::get<IntakeBatch>(one);
  ASSERT_EQ(b.messages.size(), 1u);
  EXPECT_EQ(b.messages[0].id, "a-1");
  EXPECT_EQ(json::parse(b.payloads[0]), reminder("a-1")) << "queued as sent";
  auto two = parse(json::array({reminder("a-1"), reminder("a-2")}).dump(), clinic);
  ASSERT_TRUE(std::holds_alternative<IntakeBatch>(two));
  EXPECT_EQ(std::get<IntakeBatch>(two).messages.size(), 2u);
}

TEST(IntakeParse, APhoneAsPeopleWriteItIsE164ButTheQueuedPayloadIsAsSent) {
  json written = reminder("p-1");
  written["to"]["contact"]["phone"] = "090-1234-5678";
  auto parsed = parse(written.dump(), clinic);
  ASSERT_TRUE(std::holds_alternative<IntakeBatch>(parsed));
  const auto& b = std::get<IntakeBatch>(parsed);
  EXPECT_EQ(std::get<InlineRecipient>(b.messages[0].to).contact.phone, "+819012345678");
  EXPECT_EQ(json::parse(b.payloads[0]), written) << "the consumer reads it the same way";
  const std::string secret(64, 's');
  auto same = parse(reminder("p-2").dump(), clinic);
  EXPECT_EQ(recipient_commands(Keys{}, secret, b)[1].argv,
            recipient_commands(Keys{}, secret, std::get<IntakeBatch>(same))[1].argv)
      << "the stored-record lookup is by the E.164 number's hash";
  written["to"]["contact"]["phone"] = "090-1234-567";
  auto bad = refusal(parse(written.dump(), clinic));
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0].reason, "invalid_message:invalid_phone");
  EXPECT_EQ(bad.errors[0].detail.find("1234"), std::string::npos) << bad.errors[0].detail;
}

TEST(IntakeParse, TheWholeBodyIsRefusedAtIndexZero) {
  auto bad = refusal(parse("{\"id\": ", clinic));
  EXPECT_EQ(bad.status, status::bad_request);
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0].index, 0u);
  EXPECT_EQ(bad.errors[0].reason, "invalid_message:not_json");
  auto deep = refusal(parse(std::string(40, '[') + std::string(40, ']'), clinic));
  EXPECT_EQ(deep.errors[0].reason, "invalid_message:too_deep");
  EXPECT_EQ(deep.errors[0].detail, "JSON nests deeper than 32");
  EXPECT_EQ(refusal(parse("[]", clinic)).errors[0].reason, "invalid_message:batch_size");
  auto three = json::array({reminder("a"), reminder("b"), reminder("c")}).dump();
  auto big = refusal(parse(three, clinic, {32, 2}));
  EXPECT_EQ(big.errors[0].reason, "invalid_message:batch_size");
  EXPECT_EQ(big.errors[0].detail, "send 1 to 2 messages");
}

TEST(IntakeParse, EveryInvalidElementIsNamedBeforeAnyForbiddenOne) {
  auto bad = reminder("b-2");
  bad["purpose"] = "no_such_purpose";
  auto foreign = reminder("b-3", "c-200");
  auto r = refusal(parse(json::array({reminder("b-1"), bad, foreign}).dump(), clinic));
  EXPECT_EQ(r.status, status::bad_request) << "400 first: the batch is not even valid";
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].index, 1u);
  EXPECT_EQ(r.errors[0].reason.rfind("invalid_message:", 0), 0u);
  auto body = refusal_problem(r);
  EXPECT_EQ(body["type"], "about:blank");
  EXPECT_EQ(body["title"], "Bad Request");
  EXPECT_EQ(body["status"], 400);
  EXPECT_EQ(body["detail"], "1 of 3 messages refused; nothing was accepted");
  EXPECT_EQ(body["reason"], r.errors[0].reason);
  EXPECT_EQ(body["errors"][0]["index"], 1);
  EXPECT_EQ(body["errors"][0]["reason"], r.errors[0].reason);
  EXPECT_TRUE(body["errors"][0].contains("detail"));
}

TEST(IntakeParse, AClinicKeySendsOnlyAsItself) {
  auto r = refusal(parse(json::array({reminder("x-1"), reminder("x-2", "c-200")}).dump(),
                         ApiKey{"clinic:c-200"}));
  EXPECT_EQ(r.status, status::forbidden);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].index, 0u);
  EXPECT_EQ(r.errors[0].reason, "forbidden");
  EXPECT_EQ(r.errors[0].detail, "this key sends only as clinic:c-200");
  EXPECT_TRUE(std::holds_alternative<IntakeBatch>(parse(reminder("x-3").dump(), operator_key)))
      << "the operator sends as anyone; whom it reaches is the policy's";
}

// Whom a message may reach is the policy's, read from its file: intake asks the same question
// evaluate() answers when the message is due, over the most permissive state.
TEST(IntakeRecipients, TheClinicRuleIsThePolicyFilesNotAListInWeb) {
  Subscriber member;
  member.id = "m-1";
  member.member = true;
  member.clinics = {"c-102"};
  member.contact.email = "m-1@example.jp";
  auto message = [](const char* purpose) {
    return std::get<Message>(
        parse_message_json(to_member("x", "clinic:c-102", purpose), vocabulary()));
  };
  const auto at = parse_rfc3339("2026-11-30T10:00:00+09:00").value();
  EXPECT_EQ(shipped_policy().never_permitted(message("coupon_info"), member, {}, at),
            "clinic_purpose_not_permitted");
  EXPECT_EQ(shipped_policy().never_permitted(message("reservation"), member, {}, at), "");
  auto text = [] {
    std::ifstream in(DISPATCHER_SOURCE_DIR "/config/policy.yaml");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  const std::string from = "  purposes: [reservation, support]";
  ASSERT_NE(text.find(from), std::string::npos);
  text.replace(text.find(from), from.size(), "  purposes: [reservation, support, coupon_info]");
  const auto edited = policy::Policy::load_string(text, "variant.yaml");
  EXPECT_EQ(edited.never_permitted(message("coupon_info"), member, {}, at), "");
  // State never matters here: a member without any consent could still give it.
  auto ad = message("reservation");
  ad.sender = "operator";
  ad.purpose = "advertising";
  EXPECT_EQ(shipped_policy().never_permitted(ad, member, {}, at), "");
  // An address the record lacks today is not a refusal: it may be added before the message is due.
  ad.channels = {Channel::sms};
  EXPECT_EQ(shipped_policy().never_permitted(ad, member, {}, at), "");
  // Expired before it is due: never sent.
  auto old = message("reservation");
  old.expires_at = at - std::chrono::hours(1);
  EXPECT_EQ(shipped_policy().never_permitted(old, member, {}, at), "expired");
}

TEST(IntakeCommands, TheBatchGoesInOneTransaction) {
  auto parsed = parse(json::array({reminder("a-1"), reminder("a-2")}).dump(), clinic);
  const auto& batch = std::get<IntakeBatch>(parsed);
  const Keys k;
  std::vector<bool> scheduled;
  auto cmds = intake_commands(k, batch, parse_rfc3339("2026-11-30T10:00:00+09:00").value(),
                              86400000, scheduled);
  EXPECT_EQ(scheduled, (std::vector<bool>{false, false}));
  ASSERT_GE(cmds.size(), 4u);
  EXPECT_EQ(cmds.front().argv, std::vector<std::string>{"MULTI"});
  EXPECT_EQ(cmds.back().argv, std::vector<std::string>{"EXEC"});
  std::size_t with_payload = 0;
  for (const auto& c : cmds)
    for (const auto& a : c.argv)
      if (a == batch.payloads[0] || a == batch.payloads[1]) ++with_payload;
  EXPECT_EQ(with_payload, 2u);
  // Each id is remembered with its sender, for as long as its idempotency record.
  std::size_t remembered = 0;
  for (const auto& c : cmds)
    if (c.argv == std::vector<std::string>{"SADD", k.senders_of("a-1"), "clinic:c-102"})
      ++remembered;
  EXPECT_EQ(remembered, 1u);
}

redis::Reply string_reply(std::string s) {
  redis::Reply r;
  r.type = redis::Reply::Type::string;
  r.str = std::move(s);
  return r;
}

TEST(IntakeCancel, AClinicCancelsOnlyItsOwnIdsTheOperatorMayNameTheSender) {
  EXPECT_EQ(cancel_sender(clinic, {}), "clinic:c-102");
  EXPECT_EQ(cancel_sender(clinic, {{"sender", "clinic:c-200"}}), "")
      << "a clinic cannot reach into another's ids";
  EXPECT_EQ(cancel_sender(operator_key, {}), "operator");
  EXPECT_EQ(cancel_sender(operator_key, {{"sender", "clinic:c-200"}}), "clinic:c-200");
  EXPECT_EQ(cancel_sender(operator_key, {{"sender", "nobody"}}), "");
}

TEST(IntakeCancel, TheScriptsWordIsTheAnswer) {
  auto reply = [](const char* word) {
    redis::Reply r;
    r.type = redis::Reply::Type::array;
    if (*word) r.elements.push_back(string_reply(word));
    return r;
  };
  auto a = cancel_answer("c-1", reply("cancelled"));
  EXPECT_EQ(a.status, status::ok);
  EXPECT_EQ(a.body, (json{{"id", "c-1"}, {"status", "cancelled"}}));
  EXPECT_EQ(cancel_answer("c-1", reply("marked")).status, status::accepted);
  auto busy = cancel_answer("c-1", reply("in_flight"));
  EXPECT_EQ(busy.status, status::conflict);
  EXPECT_EQ(busy.body["status"], 409) << "a problem document";
  EXPECT_EQ(busy.body["reason"], "in_flight");
  EXPECT_EQ(cancel_answer("c-1", reply("")).body["reason"], "already");
}

}  // namespace
}  // namespace dispatcher::web
