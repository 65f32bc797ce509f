// One line of `consent import`: what it must carry, what it may, and how each mistake is named.
#include "store/consent_import.hpp"

#include <gtest/gtest.h>

namespace dispatcher {
namespace {

Invalid refusal(std::string_view line) {
  auto p = parse_consent_line(line, "JP", "cli:op");
  EXPECT_TRUE(std::holds_alternative<Invalid>(p)) << line;
  return std::holds_alternative<Invalid>(p) ? std::get<Invalid>(p) : Invalid{};
}

TEST(ConsentLine, CarriesTheProofAndDefaultsWhoRecordedIt) {
  auto p = parse_consent_line(
      R"({"subject":"090-1234-5678","channel":"sms","source":"paper_form","wording":"v2","at":"2024-04-01T10:00:00+09:00"})",
      "JP", "cli:op");
  ASSERT_TRUE(std::holds_alternative<ConsentLine>(p)) << std::get<Invalid>(p).detail;
  const auto& c = std::get<ConsentLine>(p);
  EXPECT_EQ(c.subject, "+819012345678") << "a written number is its E.164 form";
  EXPECT_EQ(c.channel, Channel::sms);
  EXPECT_EQ(c.proof.source, "paper_form");
  EXPECT_EQ(c.proof.wording, "v2");
  EXPECT_EQ(c.proof.recorded_by, "cli:op");
  EXPECT_EQ(c.at, parse_rfc3339("2024-04-01T01:00:00Z"));
  auto by = parse_consent_line(R"({"subject":"m-1","channel":"email","source":"s","by":"crm"})",
                               "JP", "cli:op");
  EXPECT_EQ(std::get<ConsentLine>(by).proof.recorded_by, "crm");
  EXPECT_FALSE(std::get<ConsentLine>(by).at) << "no time: when it is imported";
}

TEST(ConsentLine, EachMistakeIsNamed) {
  EXPECT_EQ(refusal("{nope").reason, "invalid_consent:not_json");
  EXPECT_EQ(refusal("[1]").reason, "invalid_consent:not_an_object");
  EXPECT_EQ(refusal(std::string(100000, '[')).reason, "invalid_consent:too_deep");
  auto missing = refusal(R"({"subject":"m-1","channel":"email"})");
  EXPECT_EQ(missing.reason, "invalid_consent:missing_field");
  EXPECT_EQ(missing.detail, "source is required");
  EXPECT_EQ(refusal(R"({"subject":"m-1","channel":"fax","source":"s"})").reason,
            "invalid_consent:bad_channel");
  EXPECT_EQ(refusal(R"({"subject":"m-1","channel":"email","source":"s","at":"yesterday"})").reason,
            "invalid_consent:bad_time");
  EXPECT_EQ(refusal(R"({"subject":"m-1","channel":"email","source":1})").reason,
            "invalid_consent:bad_field");
  EXPECT_EQ(refusal(R"({"subject":"m-1","channel":"email","source":"s","extra":"x"})").reason,
            "invalid_consent:unknown_field");
  auto phone = refusal(R"({"subject":"090-1234-567","channel":"sms","source":"s"})");
  EXPECT_EQ(phone.reason, "invalid_phone");
  EXPECT_EQ(phone.detail.find("1234"), std::string::npos) << "masked: " << phone.detail;
}

}  // namespace
}  // namespace dispatcher
