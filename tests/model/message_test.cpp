// parse_message and the field checks, without Redis: each defect has its own reason.
#include "model/message.hpp"

#include <gtest/gtest.h>

#include <random>

using dispatcher::Invalid;
using dispatcher::Message;
using dispatcher::MessageVocabulary;
using nlohmann::json;

namespace {

MessageVocabulary vocab() {
  MessageVocabulary v;
  v.known_purpose = [](std::string_view p) { return p == "reservation" || p == "advertising"; };
  v.known_template = [](std::string_view t) { return t == "reservation.reminder"; };
  v.known_category = [](std::string_view c) { return c == "usage_history"; };
  return v;
}

json valid() {
  return json::parse(R"({
    "id": "rsv-8812-remind-24h", "sender": "clinic:c-102", "purpose": "reservation",
    "to": {"subscriber": "m-123"}, "channels": ["push", "sms", "email"],
    "template": "reservation.reminder", "locale": "ja",
    "data": {"clinic_name": "さくら歯科"}, "data_categories": ["usage_history"],
    "send_at": "2026-11-30T10:00:00+09:00", "expires_at": "2026-12-01T10:00:00+09:00", "campaign": "winter-2026"})");
}

std::string reason_of(const json& j) {
  auto r = dispatcher::parse_message(j.dump(), vocab());
  if (auto* inv = std::get_if<Invalid>(&r)) return inv->reason;
  return "ok";
}

}  // namespace

TEST(Message, TheDesignExampleParses) {
  auto r = dispatcher::parse_message(valid().dump(), vocab());
  ASSERT_TRUE(std::holds_alternative<Message>(r)) << std::get<Invalid>(r).detail;
  const Message& m = std::get<Message>(r);
  EXPECT_EQ(m.id, "rsv-8812-remind-24h");
  EXPECT_EQ(std::get<std::string>(m.to), "m-123");
  ASSERT_EQ(m.channels.size(), 3u);
  EXPECT_EQ(m.channels[0], dispatcher::Channel::push);
  EXPECT_EQ(dispatcher::format_rfc3339(*m.send_at), "2026-11-30T01:00:00Z");
}

TEST(Message, EachDefectHasItsOwnReason) {
  struct Case {
    const char* reason;
    std::function<void(json&)> change;
  };
  const std::vector<Case> cases = {
      {"invalid_message:missing_id", [](json& m) { m.erase("id"); }},
      {"invalid_message:bad_id", [](json& m) { m["id"] = "has space"; }},
      {"invalid_message:missing_sender", [](json& m) { m.erase("sender"); }},
      {"invalid_message:bad_sender", [](json& m) { m["sender"] = "clinic:"; }},
      {"invalid_message:missing_purpose", [](json& m) { m.erase("purpose"); }},
      {"invalid_message:unknown_purpose", [](json& m) { m["purpose"] = "gossip"; }},
      {"invalid_message:missing_to", [](json& m) { m.erase("to"); }},
      {"invalid_message:bad_to",
       [](json& m) {
         m["to"] = {{"subscriber", "m"}, {"contact", {{"email", "a@b.jp"}}}};
       }},
      {"invalid_message:missing_channels", [](json& m) { m.erase("channels"); }},
      {"invalid_message:bad_channels", [](json& m) { m["channels"] = json::array(); }},
      {"invalid_message:unknown_channel", [](json& m) { m["channels"] = {"fax"}; }},
      {"invalid_message:duplicate_channel",
       [](json& m) {
         m["channels"] = {"sms", "sms"};
       }},
      {"invalid_message:missing_template", [](json& m) { m.erase("template"); }},
      {"invalid_message:unknown_template", [](json& m) { m["template"] = "nope"; }},
      {"invalid_message:bad_data", [](json& m) { m["data"] = "text"; }},
      {"invalid_message:unknown_category", [](json& m) { m["data_categories"] = {"horoscope"}; }},
      {"invalid_message:bad_send_at", [](json& m) { m["send_at"] = "2026-11-30 10:00"; }},
      {"invalid_message:bad_expires_at", [](json& m) { m["expires_at"] = "2026-02-30T10:00:00Z"; }},
      {"invalid_message:unknown_field", [](json& m) { m["priority"] = "high"; }},
      {"invalid_message:invalid_email",
       [](json& m) {
         m["to"] = {
             {"contact", {{"email", "a@@b"}}}, {"clinic", "c-1"}, {"source", "reservation_form"}};
       }},
      {"invalid_message:invalid_phone",
       [](json& m) {
         m["to"] = {{"contact", {{"phone", "090-1234-567"}}},
                    {"clinic", "c-1"},
                    {"source", "reservation_form"}};
       }},
      {"invalid_message:invalid_push",
       [](json& m) {
         m["to"] = {{"contact", {{"push", {{{"platform", "blackberry"}, {"token", "t"}}}}}},
                    {"clinic", "c-1"},
                    {"source", "reservation_form"}};
       }},
      {"invalid_message:empty_contact",
       [](json& m) {
         m["to"] = {{"contact", json::object()}, {"clinic", "c-1"}, {"source", "reservation_form"}};
       }},
      {"invalid_message:missing_clinic",
       [](json& m) {
         m["to"] = {{"contact", {{"email", "a@b.jp"}}}, {"source", "reservation_form"}};
       }},
      {"invalid_message:missing_source",
       [](json& m) {
         m["to"] = {{"contact", {{"email", "a@b.jp"}}}, {"clinic", "c-1"}};
       }},
      {"invalid_message:unknown_source",
       [](json& m) {
         m["to"] = {{"contact", {{"email", "a@b.jp"}}}, {"clinic", "c-1"}, {"source", "flyer"}};
       }},
  };
  for (const auto& c : cases) {
    json m = valid();
    c.change(m);
    EXPECT_EQ(reason_of(m), c.reason) << m.dump();
  }
  EXPECT_EQ(std::get<Invalid>(dispatcher::parse_message("{oops", vocab())).reason,
            "invalid_message:not_json");
  EXPECT_EQ(std::get<Invalid>(dispatcher::parse_message("[]", vocab())).reason,
            "invalid_message:not_object");
}

TEST(Message, InlineNonMemberContactParses) {
  json m = valid();
  m["to"] = {{"contact", {{"email", "Guest@Example.com"}, {"phone", "+819012345678"}}},
             {"clinic", "c-102"},
             {"source", "reservation_form"}};
  auto r = dispatcher::parse_message(m.dump(), vocab());
  ASSERT_TRUE(std::holds_alternative<Message>(r));
  const auto& in = std::get<dispatcher::InlineRecipient>(std::get<Message>(r).to);
  EXPECT_EQ(in.clinic, "c-102");
  EXPECT_EQ(in.contact.phone, "+819012345678");
  // The subject key is opaque, stable, and the same for differently-cased e-mail.
  const auto key =
      dispatcher::subject_key(std::get<Message>(r), "secret-secret-secret-secret-1234");
  EXPECT_EQ(key.rfind("contact:", 0), 0u);
  EXPECT_EQ(key.find("Guest"), std::string::npos);
  EXPECT_EQ(dispatcher::address_hash("guest@example.com", "k"),
            dispatcher::address_hash("GUEST@example.COM", "k"));
}

TEST(Message, FieldChecks) {
  EXPECT_TRUE(dispatcher::valid_email("taro.yamada+dental@example.co.jp"));
  EXPECT_FALSE(dispatcher::valid_email("taro@localhost"));
  EXPECT_FALSE(dispatcher::valid_email(".taro@example.jp"));
  EXPECT_FALSE(dispatcher::valid_email("太郎@example.jp"));
  EXPECT_TRUE(dispatcher::valid_sender("group:epark"));
  EXPECT_FALSE(dispatcher::valid_sender("Operator"));
}

TEST(Subscriber, RecordsParseAndNonMembersNeedTheirClinic) {
  auto ok = dispatcher::parse_subscriber(
      R"({"id": "nm-77", "member": false, "clinic": "c-102", "source": "patient_registry", "phone": "+819011112222"})",
      "JP");
  ASSERT_TRUE(std::holds_alternative<dispatcher::Subscriber>(ok));
  auto bad = dispatcher::parse_subscriber(
      R"({"id": "nm-78", "member": false, "phone": "+819011112222"})", "JP");
  ASSERT_TRUE(std::holds_alternative<Invalid>(bad));
  EXPECT_EQ(std::get<Invalid>(bad).reason, "invalid_subscriber:missing_clinic");
  auto reserved = dispatcher::parse_subscriber(R"({"id": "contact:abc", "member": true})", "JP");
  EXPECT_EQ(std::get<Invalid>(reserved).reason, "invalid_subscriber:bad_id");
}

namespace dispatcher {
namespace {

TEST(Subscriber, CarriesAValidatedLineUserId) {
  auto ok = parse_subscriber(
      R"({"id": "m-1", "member": true, "line": "U4af4980629a1b2c3d4e5f60718293a4b"})", "JP");
  ASSERT_TRUE(std::holds_alternative<Subscriber>(ok));
  const Subscriber& s = std::get<Subscriber>(ok);
  EXPECT_EQ(s.contact.line, "U4af4980629a1b2c3d4e5f60718293a4b");
  EXPECT_TRUE(s.contact.has(Channel::line));
  EXPECT_EQ(to_json(s)["line"], "U4af4980629a1b2c3d4e5f60718293a4b") << "written back as read";
  for (const char* bad :
       {R"("U4af")", R"("u4af4980629a1b2c3d4e5f60718293a4b")",
        R"("U4AF4980629A1B2C3D4E5F60718293A4B")", R"("C4af4980629a1b2c3d4e5f60718293a4b")", "42"}) {
    auto r = parse_subscriber(std::string(R"({"id": "m-1", "member": true, "line": )") + bad + "}",
                              "JP");
    ASSERT_TRUE(std::holds_alternative<Invalid>(r)) << bad;
    EXPECT_EQ(std::get<Invalid>(r).reason, "invalid_subscriber:invalid_line") << bad;
  }
}

TEST(Message, MayNameTheLineChannelButNotAnInlineLineContact) {
  auto m = parse_message(
      R"({"id": "r-1", "sender": "clinic:c-1", "purpose": "reservation", "to": {"subscriber": "m-1"},
          "channels": ["line", "sms"], "template": "reservation.reminder"})",
      vocab());
  ASSERT_TRUE(std::holds_alternative<Message>(m));
  EXPECT_EQ(std::get<Message>(m).channels, (std::vector<Channel>{Channel::line, Channel::sms}));
  // Non-members are never reached on LINE: an inline (non-member) contact has no LINE field.
  auto inl = parse_message(
      R"({"id": "r-2", "sender": "clinic:c-1", "purpose": "reservation",
          "to": {"contact": {"line": "U4af4980629a1b2c3d4e5f60718293a4b"}, "clinic": "c-1",
                 "source": "reservation_form"},
          "channels": ["line"], "template": "reservation.reminder"})",
      vocab());
  ASSERT_TRUE(std::holds_alternative<Invalid>(inl));
  EXPECT_EQ(std::get<Invalid>(inl).reason, "invalid_message:bad_to");
}

}  // namespace
}  // namespace dispatcher

namespace dispatcher {
namespace {

json to_inline(const std::string& phone) {
  json m = valid();
  m["to"] = {{"contact", {{"phone", phone}}}, {"clinic", "c-102"}, {"source", "reservation_form"}};
  return m;
}

TEST(Message, APhoneWrittenAsPeopleWriteItIsE164FromTheParseOn) {
  const std::string secret = "secret-secret-secret-secret-1234";
  const auto e164 = parse_message(to_inline("+819012345678").dump(), vocab());
  ASSERT_TRUE(std::holds_alternative<Message>(e164));
  for (const char* written : {"090-1234-5678", "09012345678", "+81 90 1234 5678",
                              "\uFF10\uFF19\uFF10\uFF0D\uFF11\uFF12\uFF13\uFF14\uFF0D\uFF15\uFF16"
                              "\uFF17\uFF18"}) {
    auto r = parse_message(to_inline(written).dump(), vocab());
    ASSERT_TRUE(std::holds_alternative<Message>(r))
        << written << ": " << std::get<Invalid>(r).detail;
    EXPECT_EQ(std::get<InlineRecipient>(std::get<Message>(r).to).contact.phone, "+819012345678")
        << written;
    EXPECT_EQ(subject_key(std::get<Message>(r), secret),
              subject_key(std::get<Message>(e164), secret))
        << written << " is the same person as +819012345678";
  }
}

TEST(Message, AnInvalidPhoneIsRefusedWithTheNumberMasked) {
  auto r = parse_message(to_inline("090-1234-567").dump(), vocab());
  ASSERT_TRUE(std::holds_alternative<Invalid>(r));
  const Invalid& inv = std::get<Invalid>(r);
  EXPECT_EQ(inv.reason, "invalid_message:invalid_phone");
  EXPECT_NE(inv.detail.find("09*-****-567"), std::string::npos) << inv.detail;
  EXPECT_EQ(inv.detail.find("1234"), std::string::npos) << inv.detail;
  EXPECT_EQ(std::get<Invalid>(parse_message(to_inline("12345").dump(), vocab())).reason,
            "invalid_message:invalid_phone");
}

TEST(Message, ANationalNumberIsReadInTheConfiguredRegion) {
  MessageVocabulary us = vocab();
  us.phone_region = "US";
  auto r = parse_message(to_inline("(415) 555-2671").dump(), us);
  ASSERT_TRUE(std::holds_alternative<Message>(r)) << std::get<Invalid>(r).detail;
  EXPECT_EQ(std::get<InlineRecipient>(std::get<Message>(r).to).contact.phone, "+14155552671");
  auto jp = parse_message(to_inline("090-1234-5678").dump(), us);
  ASSERT_TRUE(std::holds_alternative<Invalid>(jp));
  EXPECT_NE(std::get<Invalid>(jp).detail.find("in US"), std::string::npos);
  EXPECT_TRUE(
      std::holds_alternative<Message>(parse_message(to_inline("+81 90 1234 5678").dump(), us)))
      << "an international number is one in every region";
}

TEST(Subscriber, APhoneWrittenAsPeopleWriteItIsStoredAsE164) {
  auto r = parse_subscriber(
      R"({"id": "nm-9", "member": false, "clinic": "c-102", "source": "patient_registry", "phone": "(03) 1234-5678"})",
      "JP");
  ASSERT_TRUE(std::holds_alternative<Subscriber>(r)) << std::get<Invalid>(r).detail;
  EXPECT_EQ(std::get<Subscriber>(r).contact.phone, "+81312345678");
  EXPECT_EQ(to_json(std::get<Subscriber>(r))["phone"], "+81312345678") << "what is stored";
  auto bad = parse_subscriber(R"({"id": "m-9", "member": true, "phone": "03-1234-567"})", "JP");
  ASSERT_TRUE(std::holds_alternative<Invalid>(bad));
  EXPECT_EQ(std::get<Invalid>(bad).reason, "invalid_subscriber:invalid_phone");
  EXPECT_EQ(std::get<Invalid>(bad).detail.find("1234"), std::string::npos);
  // A stored record is read with no region: it holds E.164, and nothing else passes for it.
  EXPECT_TRUE(std::holds_alternative<Invalid>(
      parse_subscriber(R"({"id": "m-9", "member": true, "phone": "03-1234-5678"})", "")));
}

}  // namespace
}  // namespace dispatcher
