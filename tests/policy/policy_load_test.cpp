// Loading the policy file: the shipped one loads; every kind of mistake is reported with its
// file:line:col, all of them at once; the tables are data (changing the file changes decisions).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "policy/policy_tables.hpp"
#include "policy_test_support.hpp"

namespace dispatcher::policy::testing {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

// 1-based line of the first occurrence of `needle` in `text`.
int line_of(std::string_view text, std::string_view needle) {
  const std::size_t at = text.find(needle);
  EXPECT_NE(at, std::string_view::npos) << needle;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
}

std::vector<std::string> errors_of(const std::string& text, std::string_view name = "bad.yaml") {
  try {
    Policy::load_string(text, name);
  } catch (const config::LoadError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr(e.errors().front()));
    EXPECT_EQ(e.subject(), "policy") << "main prints \"dispatcher: policy: \" before each line";
    return e.errors();
  }
  ADD_FAILURE() << "the policy loaded";
  return {};
}

TEST(PolicyLoad, ShippedFileLoads) {
  const Policy& p = shipped_policy();
  const Policy::Tables& t = p.tables();
  EXPECT_EQ(t.sender_kinds.size(), 3u);
  EXPECT_EQ(t.quiet_windows.size(), 1u);
  EXPECT_EQ(t.quiet_windows[0].from, std::chrono::hours{21});
  EXPECT_EQ(t.quiet_windows[0].to, std::chrono::hours{8});
  EXPECT_FALSE(t.quiet_reminders);
  EXPECT_NE(t.quiet_zone, nullptr);
  EXPECT_TRUE(t.consent_channels[index(Channel::email)]);
  EXPECT_TRUE(t.consent_channels[index(Channel::sms)]);
  EXPECT_FALSE(t.consent_channels[index(Channel::push)]);
}

TEST(PolicyLoad, MissingFileNamesIt) {
  try {
    Policy::load("/nonexistent/policy.yaml");
    FAIL();
  } catch (const config::LoadError& e) {
    EXPECT_THAT(e.errors(), Contains(StartsWith("/nonexistent/policy.yaml:")));
  }
}

// A policy_file that never ends (or a FIFO, a directory) is refused before it is read; today's
// `check` hung on it. A read that blocks ends the binary with SIGALRM instead of hanging.
TEST(PolicyLoad, DevZeroIsRefusedAtOnce) {
  ::alarm(10);
  try {
    Policy::load("/dev/zero");
    ADD_FAILURE() << "loaded /dev/zero";
  } catch (const config::LoadError& e) {
    EXPECT_EQ(e.subject(), "policy");
    EXPECT_THAT(e.errors(), ElementsAre("/dev/zero: not a regular file"));
  }
  ::alarm(0);
}

TEST(PolicyLoad, AListAsAKeyIsAnErrorNotACrash) {
  EXPECT_THAT(errors_of(shipped_policy_text() + "[a]: b\n"),
              ElementsAre(AllOf(StartsWith("bad.yaml:"), HasSubstr("a key must be a plain name"))));
  EXPECT_THAT(errors_of("purposes: [a]\npurposes: [b]\n"),
              ElementsAre("bad.yaml:2:1: purposes: given twice in one map (first on line 1)"));
}

TEST(PolicyLoad, LoadNamesTheFileInErrors) {
  const std::string bad = edited(shipped_policy_text(), "max: 3", "max: 0");
  const std::string path = ::testing::TempDir() + "policy_load_test.yaml";
  { std::ofstream(path) << bad; }
  try {
    Policy::load(path);
    FAIL();
  } catch (const config::LoadError& e) {
    EXPECT_THAT(e.errors(),
                Contains(StartsWith(path + ":" + std::to_string(line_of(bad, "max: 0")) + ":")));
  }
}

struct Mistake {
  std::string name;
  std::string from, to;  // edit of the shipped file
  std::string at;        // text on the line the error must name
  std::string what;      // part of the message
};
std::ostream& operator<<(std::ostream& os, const Mistake& m) { return os << m.name; }

class PolicyMistake : public ::testing::TestWithParam<Mistake> {};

TEST_P(PolicyMistake, IsReportedWithItsLine) {
  const Mistake& m = GetParam();
  const std::string text = edited(shipped_policy_text(), m.from, m.to);
  const std::string where = "bad.yaml:" + std::to_string(line_of(text, m.at)) + ":";
  EXPECT_THAT(errors_of(text), Contains(AllOf(StartsWith(where), HasSubstr(m.what))));
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, PolicyMistake,
    ::testing::Values(
        Mistake{"unknown_purpose_in_category", "permits: [recommendation]",
                "permits: [recomendation]", "recomendation",
                "unknown purpose 'recomendation' in 'categories.behavior_history.permits'"},
        Mistake{"unknown_purpose_in_rule", "  purposes: [reservation, support]",
                "  purposes: [reservation, suport]", "suport", "unknown purpose 'suport'"},
        Mistake{"unknown_category", "member: member_profile", "member: member_profiel",
                "member_profiel", "unknown category 'member_profiel'"},
        Mistake{"unknown_excluded_category", "excluded_categories: [sensitive, questionnaire]",
                "excluded_categories: [sensitive, questionaire]", "questionaire",
                "unknown category 'questionaire'"},
        Mistake{"unknown_channel", "consent_channels: [email, sms]",
                "consent_channels: [email, fax]", "consent_channels", "unknown channel 'fax'"},
        Mistake{"unknown_sender_kind", "senders: [operator]", "senders: [operater]", "operater",
                "unknown sender kind 'operater'"},
        Mistake{"unknown_key", "  frequency_cap:", "  colour: red\n  frequency_cap:", "colour",
                "unknown key 'colour' in 'marketing'"},
        Mistake{"unknown_top_level_key",
                "quiet_hours:", "quiet_hour:", "quiet_hour:", "unknown key 'quiet_hour'"},
        Mistake{"listed_twice", "permits: [reward_payout]",
                "permits: [reward_payout, reward_payout]", "reward_payout, reward_payout",
                "listed twice"},
        Mistake{"bad_time", R"(to: "08:00")", R"(to: "25:00")", "25:00", "\"25:00\""},
        Mistake{"bad_time_format", R"(from: "21:00")", R"(from: "9pm")", "9pm", "HH:MM"},
        Mistake{"empty_window", R"({from: "21:00", to: "08:00"})",
                R"({from: "08:00", to: "08:00"})", R"({from: "08:00")", "is empty"},
        Mistake{"overlapping_windows", R"(    - {from: "21:00", to: "08:00"})",
                "    - {from: \"21:00\", to: \"08:00\"}\n    - {from: \"07:00\", to: \"09:00\"}",
                R"({from: "07:00")", "overlaps"},
        Mistake{"touching_windows", R"(    - {from: "21:00", to: "08:00"})",
                "    - {from: \"21:00\", to: \"08:00\"}\n    - {from: \"08:00\", to: \"09:00\"}",
                R"({from: "21:00")", "merge them"},
        Mistake{"unknown_zone", "zone: Asia/Tokyo", "zone: Asia/Tokio", "Asia/Tokio",
                "unknown time zone 'Asia/Tokio'"},
        Mistake{"zero_cap", "max: 3", "max: 0", "max: 0", "must be positive"},
        Mistake{"negative_cap", "max: 3", "max: -2", "max: -2", "must be positive"},
        Mistake{"cap_not_a_number", "max: 3", "max: three", "max: three", "whole number"},
        Mistake{"zero_window", "window: 7d", "window: 0d", "window: 0d", "must be positive"},
        Mistake{"window_without_unit", "window: 7d", "window: 7", "window: 7", "unit"},
        Mistake{"bad_boolean", "enabled: false", "enabled: maybe", "maybe", "true or false"},
        Mistake{"list_expected", "channels: [sms, push, line]\n  # Non", "channels: sms\n  # Non",
                "channels: sms", "must be a list"}),
    [](const auto& info) { return info.param.name; });

TEST(PolicyLoad, MissingSectionIsNamed) {
  std::string text = shipped_policy_text();
  const std::size_t from = text.find("joint_use:");
  const std::size_t to = text.find("\n\n", from);
  text.erase(from, to - from);
  EXPECT_THAT(errors_of(text),
              Contains(AllOf(StartsWith("bad.yaml:"), HasSubstr("missing section 'joint_use'"))));
}

TEST(PolicyLoad, MissingKeyIsNamed) {
  const std::string text = edited(shipped_policy_text(), "    window: 7d\n", "");
  const std::string where = "bad.yaml:" + std::to_string(line_of(text, "    max: 3")) + ":";
  EXPECT_THAT(errors_of(text),
              Contains(AllOf(StartsWith(where),
                             HasSubstr("missing key 'window' in 'marketing.frequency_cap'"))));
}

TEST(PolicyLoad, EveryMistakeIsListed) {
  std::string text = shipped_policy_text();
  text = edited(text, "max: 3", "max: 0");
  text = edited(text, "zone: Asia/Tokyo", "zone: Nowhere/City");
  text = edited(text, R"(to: "08:00")", R"(to: "24:00")");
  text = edited(text, "consent_channels: [email, sms]", "consent_channels: [email, pigeon]");
  text = edited(text, "  purposes: [reservation, product_notice]",
                "  purposes: [reservation, flyers]");
  const auto errors = errors_of(text);
  EXPECT_THAT(errors, SizeIs(5));
  EXPECT_THAT(errors, Contains(HasSubstr("must be positive")));
  EXPECT_THAT(errors, Contains(HasSubstr("Nowhere/City")));
  EXPECT_THAT(errors, Contains(HasSubstr("24:00")));
  EXPECT_THAT(errors, Contains(HasSubstr("pigeon")));
  EXPECT_THAT(errors, Contains(HasSubstr("flyers")));
}

TEST(PolicyLoad, SyntaxErrorHasPosition) {
  const std::string text =
      edited(shipped_policy_text(), "permits: [reward_payout]", "permits: [reward_payout");
  const auto errors = errors_of(text);
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0],
              AllOf(::testing::MatchesRegex("bad\\.yaml:[0-9]+:[0-9]+: YAML syntax: .*")));
}

TEST(PolicyLoad, NotAMap) {
  EXPECT_THAT(errors_of("- just\n- a list\n"), Contains(HasSubstr("must be a map of sections")));
  EXPECT_THAT(errors_of(""), Contains(HasSubstr("must be a map of sections")));
}

// The tables are data: changing the file changes the decisions without a rebuild.
TEST(PolicyData, RuleSevenAnswersWhenSensitiveNamesNoSenders) {
  const Policy p = Policy::load_string(
      edited(shipped_policy_text(),
             "    permits: [reservation, support]\n    senders: [operator, clinic]\n",
             "    permits: [reservation, support]\n"),
      "variant.yaml");
  Scenario s;
  s.message.sender = "group:epark";
  s.message.data_categories = {"sensitive"};
  EXPECT_EQ(summary(s.evaluate(p)), "deny:sensitive_not_jointly_used");
  s.message.data_categories = {"usage_history"};
  EXPECT_EQ(summary(s.evaluate(p)), "send:push");
  s.message.sender = "clinic:c-102";
  s.message.data_categories = {"sensitive"};
  EXPECT_EQ(summary(s.evaluate(p)), "send:push");
}

TEST(PolicyData, CapAndMarketingListComeFromTheFile) {
  std::string text = edited(shipped_policy_text(), "max: 3", "max: 5");
  text = edited(text, "window: 7d", "window: 30d");
  text = edited(text, "coupon_info, product_notice, points, survey]",
                "coupon_info, product_notice, points, survey, maintenance]");
  const Policy p = Policy::load_string(text, "variant.yaml");
  EXPECT_EQ(p.cap_count(), 5);
  EXPECT_EQ(p.cap_window(), std::chrono::hours{24 * 30});
  EXPECT_TRUE(p.is_marketing("maintenance"));
  Scenario s;
  s.message.sender = "operator";
  s.message.purpose = "coupon_info";
  s.state.marketing_sent_in_window = 4;
  EXPECT_EQ(summary(s.evaluate(p)), "send:push");
  s.state.marketing_sent_in_window = 5;
  EXPECT_EQ(summary(s.evaluate(p)), "deny:frequency_capped");
}

TEST(PolicyData, NonmemberChannelsComeFromTheFile) {
  const Policy p = Policy::load_string(
      edited(shipped_policy_text(), "  channels: [email, sms, push]", "  channels: [email, sms]"),
      "variant.yaml");
  Scenario s;
  s.nonmember();
  EXPECT_EQ(summary(s.evaluate(p)), "send:sms");
  s.message.channels = {Channel::push};
  EXPECT_EQ(summary(s.evaluate(p)), "deny:nonmember_channel_not_permitted:push");
}

}  // namespace
}  // namespace dispatcher::policy::testing
