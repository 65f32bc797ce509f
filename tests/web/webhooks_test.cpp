// Webhooks' pure parts: SMS keywords, Twilio's signature, and each webhook's form or body into
// the event it reports and that event into its commands.
#include "web/webhooks.hpp"

#include <gtest/gtest.h>

#include "codec/hmac.hpp"
#include "model/message.hpp"
#include "store/subject_requests.hpp"
#include "store/subject_store.hpp"

namespace dispatcher::web {
namespace {

using nlohmann::json;

TEST(Keywords, NormalisesFullWidthCaseAndSpace) {
  EXPECT_EQ(normalise_keyword("ＳＴＯＰ"), "STOP");
  EXPECT_EQ(normalise_keyword("  stop \n"), "STOP");
  EXPECT_EQ(classify_keyword("ｓｔｏｐ"), SmsKeyword::stop);
  EXPECT_EQ(classify_keyword("配信停止"), SmsKeyword::stop);
  EXPECT_EQ(classify_keyword(" 停止。"), SmsKeyword::stop);
  EXPECT_EQ(classify_keyword("Unsubscribe"), SmsKeyword::stop);
  EXPECT_EQ(classify_keyword("STOPALL"), SmsKeyword::stop);
  EXPECT_EQ(classify_keyword("start"), SmsKeyword::start);
  EXPECT_EQ(classify_keyword("再開"), SmsKeyword::start);
  EXPECT_EQ(classify_keyword("please stop calling"), SmsKeyword::none);
  EXPECT_EQ(classify_keyword("予約を変更したい"), SmsKeyword::none);
}

TEST(TwilioSignature, MatchesTheDocumentedExample) {
  // Twilio's documented example (auth token 12345); cross-checked with Python's hmac module.
  std::vector<std::pair<std::string, std::string>> p = {{"CallSid", "CA1234567890ABCDE"},
                                                        {"Caller", "+12349013030"},
                                                        {"Digits", "1234"},
                                                        {"From", "+12349013030"},
                                                        {"To", "+18005551212"}};
  EXPECT_EQ(twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", p),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
}

TEST(TwilioSignature, IsOverTheConfiguredPublicUrlAndTheTargetAsReceived) {
  EXPECT_EQ(twilio_signed_url("https://hooks.example.jp", "/webhooks/sms/inbound"),
            "https://hooks.example.jp/webhooks/sms/inbound");
  EXPECT_EQ(twilio_signed_url("https://hooks.example.jp/", "/webhooks/status?x=1"),
            "https://hooks.example.jp/webhooks/status?x=1");
}

const std::string secret(64, 's');
const TimePoint now = parse_rfc3339("2026-11-30T10:00:00+09:00").value();

TEST(InboundSms, FromMustBeE164AndTheBodyAKeyword) {
  auto stop =
      parse_inbound_sms({{"From", "+819012345678"}, {"To", "+815000000000"}, {"Body", "STOP"}});
  ASSERT_TRUE(std::holds_alternative<InboundSms>(stop));
  EXPECT_EQ(std::get<InboundSms>(stop).from, "+819012345678");
  EXPECT_EQ(std::get<InboundSms>(stop).keyword, SmsKeyword::stop);
  auto hello = parse_inbound_sms({{"From", "+819012345678"}, {"Body", "hello"}});
  EXPECT_EQ(std::get<InboundSms>(hello).keyword, SmsKeyword::none);
  auto nobody = parse_inbound_sms({{"From", "nobody"}, {"Body", "STOP"}});
  EXPECT_EQ(std::get<std::string>(nobody), "From must be an E.164 number");
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_inbound_sms({})));
}

TEST(InboundSms, StopAndStartAreTheNumbersSmsOptOut) {
  const Keys k;
  const auto subject = resolve_subject("+819012345678", secret);
  auto out = inbound_sms_change(k, secret, {"+819012345678", SmsKeyword::stop}, now);
  auto want = optout_change(k, subject, "channel:sms", true, "sms-keyword", now);
  ASSERT_EQ(out.redis.size(), want.redis.size());
  for (std::size_t i = 0; i < out.redis.size(); ++i)
    EXPECT_EQ(out.redis[i].argv, want.redis[i].argv);
  ASSERT_EQ(out.audit.size(), 1u);
  EXPECT_EQ(to_json(out.audit[0]), to_json(want.audit[0]));
  auto in = inbound_sms_change(k, secret, {"+819012345678", SmsKeyword::start}, now);
  EXPECT_EQ(in.redis.front().argv,
            optout_change(k, subject, "channel:sms", false, "sms-keyword", now).redis.front().argv);
  auto none = inbound_sms_change(k, secret, {"+819012345678", SmsKeyword::none}, now);
  EXPECT_TRUE(none.redis.empty() && none.audit.empty());
}

TEST(Bounce, IsAnAddressAndOneOfThreeTypes) {
  auto hard = parse_bounce(R"({"address":"a@example.jp","type":"hard"})", 32);
  ASSERT_TRUE(std::holds_alternative<Bounce>(hard));
  EXPECT_EQ(std::get<Bounce>(hard).address, "a@example.jp");
  EXPECT_EQ(std::get<std::string>(parse_bounce(R"({"address":"nope","type":"hard"})", 32)),
            "not an e-mail address");
  EXPECT_EQ(std::get<std::string>(parse_bounce(R"({"address":"a@example.jp","type":"x"})", 32)),
            "type must be hard, soft or complaint");
  EXPECT_EQ(std::get<std::string>(parse_bounce(R"({"address":"a@example.jp"})", 32)),
            "expected {\"address\", \"type\"}");
  EXPECT_EQ(std::get<std::string>(parse_bounce("[[[1]]]", 2)), "too deep");
}

TEST(Bounce, HardSuppressesComplaintOptsOutSoftChangesNothing) {
  const Keys k;
  auto soft = bounce_change(k, secret, {"a@example.jp", "soft"}, now);
  EXPECT_TRUE(soft.redis.empty() && soft.audit.empty());
  auto hard = bounce_change(k, secret, {"a@example.jp", "hard"}, now);
  auto suppress = suppress_commands(k, address_hash("a@example.jp", secret), "email", "webhook",
                                    "hard bounce", now);
  ASSERT_EQ(hard.redis.size(), suppress.size());
  EXPECT_EQ(hard.redis.front().argv, suppress.front().argv);
  auto complaint = bounce_change(k, secret, {"b@example.jp", "complaint"}, now);
  auto optout = optout_change(k, resolve_subject("b@example.jp", secret), "channel:email", true,
                              "email-complaint", now);
  EXPECT_EQ(complaint.redis.front().argv, optout.redis.front().argv);
  ASSERT_EQ(complaint.audit.size(), 1u);
  EXPECT_EQ(to_json(complaint.audit[0]), to_json(optout.audit[0]));
}

TEST(DeliveryStatus, TwilioFormsMarkADeadNumberByItsErrorCode) {
  auto delivered = parse_twilio_status({{"MessageSid", "SM1"}, {"MessageStatus", "delivered"}});
  EXPECT_EQ(delivered.provider_message_id, "SM1");
  EXPECT_EQ(delivered.status, "delivered");
  EXPECT_FALSE(delivered.address_dead);
  auto dead = parse_twilio_status(
      {{"MessageSid", "SM2"}, {"MessageStatus", "undelivered"}, {"ErrorCode", "30006"}});
  EXPECT_TRUE(dead.address_dead);
  EXPECT_FALSE(
      parse_twilio_status(
          {{"MessageSid", "SM3"}, {"MessageStatus", "undelivered"}, {"ErrorCode", "30003"}})
          .address_dead)
      << "unreachable handset, not a dead number";
  EXPECT_FALSE(parse_twilio_status(
                   {{"MessageSid", "SM4"}, {"MessageStatus", "delivered"}, {"ErrorCode", "30006"}})
                   .address_dead);
  EXPECT_FALSE(parse_twilio_status(
                   {{"MessageSid", "SM5"}, {"MessageStatus", "failed"}, {"ErrorCode", "30006x"}})
                   .address_dead);
}

TEST(DeliveryStatus, JsonFromOtherProvidersIsCheckedFieldByField) {
  auto ok = parse_status_json(
      R"({"provider_message_id":"p-1","status":"bounced","error_code":550,"address_dead":true})",
      32);
  ASSERT_TRUE(std::holds_alternative<DeliveryStatus>(ok));
  EXPECT_EQ(std::get<DeliveryStatus>(ok).error_code, "550");
  EXPECT_TRUE(std::get<DeliveryStatus>(ok).address_dead);
  auto why = [](const char* body) {
    auto r = parse_status_json(body, 32);
    return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "";
  };
  EXPECT_EQ(why(R"({"status":"x"})"), "expected {\"provider_message_id\", \"status\"}");
  EXPECT_EQ(why(R"({"provider_message_id":"p","status":"x","error_code":1.5})"),
            "error_code must be a string or an integer");
  EXPECT_EQ(why(R"({"provider_message_id":"p","status":"x","address_dead":"yes"})"),
            "address_dead must be true or false");
  EXPECT_EQ(status_problem({"p-1", "delivered", "", false}), std::nullopt);
  EXPECT_EQ(status_problem({"", "delivered", "", false}), "missing or malformed message id");
  EXPECT_EQ(status_problem({"p 1", "delivered", "", false}), "missing or malformed message id");
  EXPECT_EQ(status_problem({"p-1", "Delivered", "", false}), "missing or malformed status");
  EXPECT_EQ(status_problem({"p-1", "delivered", "5 5", false}), "malformed error code");
}

redis::Reply str(std::string s) {
  redis::Reply r;
  r.type = redis::Reply::Type::string;
  r.str = std::move(s);
  return r;
}

TEST(DeliveryStatus, IsAuditedOnTheSubjectAndADeadAddressSuppressed) {
  const Keys k;
  EXPECT_FALSE(delivery_change(k, redis::Reply{}, {"p-1", "delivered", "", false}, now))
      << "not one of ours";
  EXPECT_FALSE(delivery_change(k, str("garbage"), {"p-1", "delivered", "", false}, now));
  const json about = {{"subject", "m-1"},
                      {"id", "st-1"},
                      {"channel", "sms"},
                      {"provider", "twilio-1"},
                      {"address", "ab12"}};
  auto alive = delivery_change(k, str(about.dump()), {"p-1", "delivered", "", false}, now);
  ASSERT_TRUE(alive);
  EXPECT_TRUE(alive->redis.empty()) << "the audit record alone";
  ASSERT_EQ(alive->audit.size(), 1u);
  EXPECT_EQ(alive->audit[0].subject, "m-1");
  EXPECT_EQ(alive->audit[0].event, "delivery_status");
  EXPECT_EQ(alive->audit[0].message_id, "st-1");
  auto dead = delivery_change(k, str(about.dump()), {"p-1", "undelivered", "30006", true}, now);
  ASSERT_TRUE(dead);
  auto suppress =
      suppress_commands(k, "ab12", "sms", "twilio-1", "delivery status undelivered 30006", now);
  ASSERT_EQ(dead->redis.size(), suppress.size());
  EXPECT_EQ(dead->redis.front().argv, suppress.front().argv);
  ASSERT_EQ(dead->audit.size(), 1u);
  EXPECT_EQ(dead->audit[0].reason, "address_suppressed:sms") << "the audit says why";
}

}  // namespace
}  // namespace dispatcher::web
