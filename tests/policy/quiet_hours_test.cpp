// Rule 12 in detail: windows across midnight, the exact instant a deferral ends, other time zones
// (with their DST changes), and the knobs the policy file offers (reminders, several windows).
#include <gtest/gtest.h>

#include "policy/policy.hpp"
#include "policy_test_support.hpp"

namespace dispatcher::policy::testing {
namespace {

// A marketing push from the operator, evaluated at `now` for a subject in `tz`.
Decision marketing_push(std::string_view now, std::string tz, const Policy& p = shipped_policy()) {
  Scenario s;
  s.message.sender = "operator";
  s.message.purpose = "campaign";
  s.message.channels = {Channel::push};
  s.recipient.tz = std::move(tz);
  s.now = at(now);
  return s.evaluate(p);
}

struct QuietCase {
  std::string name;
  std::string tz;
  std::string now;
  std::string until;  // empty: sent
};
std::ostream& operator<<(std::ostream& os, const QuietCase& c) { return os << c.name; }

class Quiet : public ::testing::TestWithParam<QuietCase> {};

TEST_P(Quiet, DefersUntilTheWindowEnds) {
  const QuietCase& c = GetParam();
  Decision d = marketing_push(c.now, c.tz);
  if (c.until.empty()) {
    EXPECT_EQ(d.verdict, Verdict::send) << summary(d);
    return;
  }
  ASSERT_EQ(d.verdict, Verdict::defer) << summary(d);
  EXPECT_EQ(d.reason, "quiet_hours");
  ASSERT_TRUE(d.until);
  EXPECT_EQ(format_rfc3339(*d.until), format_rfc3339(at(c.until)));
  EXPECT_FALSE(d.channel);
}

INSTANTIATE_TEST_SUITE_P(
    Tokyo, Quiet,
    ::testing::Values(QuietCase{"before_midnight", "Asia/Tokyo", "2026-11-30T23:30:00+09:00",
                                "2026-12-01T08:00:00+09:00"},
                      QuietCase{"after_midnight", "Asia/Tokyo", "2026-12-01T02:00:00+09:00",
                                "2026-12-01T08:00:00+09:00"},
                      QuietCase{"window_opens", "Asia/Tokyo", "2026-11-30T21:00:00+09:00",
                                "2026-12-01T08:00:00+09:00"},
                      QuietCase{"last_second", "Asia/Tokyo", "2026-12-01T07:59:59.999+09:00",
                                "2026-12-01T08:00:00+09:00"},
                      QuietCase{"eight_exactly", "Asia/Tokyo", "2026-12-01T08:00:00+09:00", ""},
                      QuietCase{"just_before_nine", "Asia/Tokyo", "2026-11-30T20:59:59+09:00", ""},
                      QuietCase{"new_year", "Asia/Tokyo", "2026-12-31T22:15:00+09:00",
                                "2027-01-01T08:00:00+09:00"},
                      QuietCase{"default_zone", "", "2026-11-30T14:30:00Z",
                                "2026-12-01T08:00:00+09:00"}),
    [](const auto& info) { return info.param.name; });

// America/Los_Angeles changes to PDT on 2026-03-08 at 02:00; Europe/London to GMT on
// 2026-10-25 at 02:00 BST. The deferral ends at 08:00 local on the far side of the change.
INSTANTIATE_TEST_SUITE_P(
    OtherZones, Quiet,
    ::testing::Values(
        QuietCase{"la_winter_night", "America/Los_Angeles", "2026-01-15T22:00:00-08:00",
                  "2026-01-16T08:00:00-08:00"},
        QuietCase{"la_summer_early", "America/Los_Angeles", "2026-07-01T06:00:00-07:00",
                  "2026-07-01T08:00:00-07:00"},
        QuietCase{"la_summer_day", "America/Los_Angeles", "2026-07-01T12:00:00-07:00", ""},
        QuietCase{"la_into_dst", "America/Los_Angeles", "2026-03-07T23:30:00-08:00",
                  "2026-03-08T15:00:00Z"},
        QuietCase{"london_out_of_dst", "Europe/London", "2026-10-24T22:00:00+01:00",
                  "2026-10-25T08:00:00Z"},
        QuietCase{"london_summer_eight", "Europe/London", "2026-06-01T07:00:00Z", ""},
        // Tokyo's 22:00 is a London afternoon: sent.
        QuietCase{"london_while_tokyo_sleeps", "Europe/London", "2026-11-30T22:00:00+09:00", ""}),
    [](const auto& info) { return info.param.name; });

TEST(QuietHours, ReminderHeldOnlyWhenConfigured) {
  Scenario s;  // a clinic's reservation reminder by SMS at night
  s.message.channels = {Channel::sms};
  s.now = at("2026-11-30T23:00:00+09:00");
  EXPECT_EQ(summary(s.evaluate()), "send:sms");

  const Policy held = Policy::load_string(
      edited(shipped_policy_text(), "    enabled: false", "    enabled: true"), "held.yaml");
  Decision d = s.evaluate(held);
  ASSERT_EQ(d.verdict, Verdict::defer) << summary(d);
  EXPECT_EQ(format_rfc3339(*d.until), format_rfc3339(at("2026-12-01T08:00:00+09:00")));

  s.message.channels = {Channel::email};  // not a held channel
  EXPECT_EQ(summary(s.evaluate(held)), "send:email");
}

TEST(QuietHours, SeveralWindowsAndSameDayWindow) {
  const Policy p = Policy::load_string(
      edited(shipped_policy_text(), R"(    - {from: "21:00", to: "08:00"})",
             "    - {from: \"21:00\", to: \"08:00\"}\n    - {from: \"12:00\", to: \"13:30\"}"),
      "lunch.yaml");
  Decision lunch = marketing_push("2026-11-30T12:45:00+09:00", "Asia/Tokyo", p);
  ASSERT_EQ(lunch.verdict, Verdict::defer);
  EXPECT_EQ(format_rfc3339(*lunch.until), format_rfc3339(at("2026-11-30T13:30:00+09:00")));
  EXPECT_EQ(marketing_push("2026-11-30T13:30:00+09:00", "Asia/Tokyo", p).verdict, Verdict::send);
  Decision night = marketing_push("2026-11-30T23:45:00+09:00", "Asia/Tokyo", p);
  ASSERT_EQ(night.verdict, Verdict::defer);
  EXPECT_EQ(format_rfc3339(*night.until), format_rfc3339(at("2026-12-01T08:00:00+09:00")));
}

TEST(QuietHours, WindowEndingInADstGapEndsAtTheChange) {
  // 02:30 does not exist in Los Angeles on 2026-03-08: clocks go from 02:00 PST to 03:00 PDT.
  const Policy p =
      Policy::load_string(edited(shipped_policy_text(), R"({from: "21:00", to: "08:00"})",
                                 R"({from: "22:00", to: "02:30"})"),
                          "gap.yaml");
  Decision d = marketing_push("2026-03-07T23:00:00-08:00", "America/Los_Angeles", p);
  ASSERT_EQ(d.verdict, Verdict::defer);
  EXPECT_EQ(format_rfc3339(*d.until), format_rfc3339(at("2026-03-08T03:00:00-07:00")));
}

TEST(QuietHours, NoWindowsMeansNoQuietHours) {
  const Policy p = Policy::load_string(
      edited(shipped_policy_text(), "  windows:\n    - {from: \"21:00\", to: \"08:00\"}",
             "  windows: []"),
      "none.yaml");
  EXPECT_EQ(marketing_push("2026-11-30T23:00:00+09:00", "Asia/Tokyo", p).verdict, Verdict::send);
}

TEST(QuietHours, UnknownSubscriberZoneFallsBackToDefault) {
  Decision d = marketing_push("2026-11-30T23:00:00+09:00", "Mars/Olympus_Mons");
  ASSERT_EQ(d.verdict, Verdict::defer);
  EXPECT_EQ(format_rfc3339(*d.until), format_rfc3339(at("2026-12-01T08:00:00+09:00")));
}

}  // namespace
}  // namespace dispatcher::policy::testing
