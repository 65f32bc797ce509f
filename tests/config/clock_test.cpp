#include "config/clock.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dispatcher {
namespace {

using namespace std::chrono_literals;

// 2026-11-30T01:00:00Z, a Monday (and 10:00 that day in Tokyo).
constexpr std::int64_t monday_01_utc = 1'796'000'400'000;

std::int64_t ms(std::string_view s) {
  const auto t = parse_rfc3339(s);
  EXPECT_TRUE(t) << "did not parse: " << s;
  return t ? to_epoch_ms(*t) : -1;
}

TEST(ParseRfc3339, UtcAndOffsetsNameTheSameInstant) {
  EXPECT_EQ(ms("2026-11-30T01:00:00Z"), monday_01_utc);
  EXPECT_EQ(ms("2026-11-30T10:00:00+09:00"), monday_01_utc);
  EXPECT_EQ(ms("2026-11-29T20:00:00-05:00"), monday_01_utc);
  EXPECT_EQ(ms("2026-11-30T06:30:00+05:30"), monday_01_utc);
  EXPECT_EQ(ms("2026-11-29T21:30:00-03:30"), monday_01_utc);
  EXPECT_EQ(ms("2026-11-30T01:00:00+00:00"), monday_01_utc);
  EXPECT_EQ(ms("2026-11-30T01:00:00-00:00"), monday_01_utc);
  EXPECT_EQ(ms("2026-11-30T23:59:00+23:59"), ms("2026-11-30T00:00:00Z"));
}

TEST(ParseRfc3339, LowerCaseAndSpaceSeparatorAsRfc3339Allows) {
  EXPECT_EQ(ms("2026-11-30t01:00:00z"), monday_01_utc);
  EXPECT_EQ(ms("2026-11-30 10:00:00+09:00"), monday_01_utc);
}

TEST(ParseRfc3339, FractionalSecondsToTheMillisecond) {
  EXPECT_EQ(ms("2026-11-30T01:00:00.5Z"), monday_01_utc + 500);
  EXPECT_EQ(ms("2026-11-30T01:00:00.25Z"), monday_01_utc + 250);
  EXPECT_EQ(ms("2026-11-30T01:00:00.123Z"), monday_01_utc + 123);
  EXPECT_EQ(ms("2026-11-30T01:00:00.1239999Z"), monday_01_utc + 123) << "truncated, not rounded";
  EXPECT_EQ(ms("2026-11-30T10:00:00.007+09:00"), monday_01_utc + 7);
  EXPECT_EQ(ms("2026-11-30T01:00:00.000Z"), monday_01_utc);
}

TEST(ParseRfc3339, EpochAndTimesBeforeIt) {
  EXPECT_EQ(ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ms("1970-01-01T09:00:00+09:00"), 0);
  EXPECT_EQ(ms("1969-12-31T23:59:59.500Z"), -500);
  EXPECT_EQ(ms("1969-12-31T00:00:00Z"), -86'400'000);
}

TEST(ParseRfc3339, CalendarRules) {
  EXPECT_EQ(ms("2024-02-29T12:34:56Z"), 1'709'210'096'000);  // a leap day
  EXPECT_FALSE(parse_rfc3339("2025-02-29T00:00:00Z")) << "2025 is no leap year";
  EXPECT_FALSE(parse_rfc3339("2100-02-29T00:00:00Z")) << "nor is 2100";
  EXPECT_TRUE(parse_rfc3339("2000-02-29T00:00:00Z")) << "but 2000 is";
  EXPECT_FALSE(parse_rfc3339("2026-04-31T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-00-10T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-01-00T00:00:00Z"));
  EXPECT_EQ(ms("2026-12-31T23:59:59Z") + 1000, ms("2027-01-01T00:00:00Z"));
}

TEST(ParseRfc3339, AnythingElseIsRefused) {
  for (const char* bad : {
           "",
           "2026-11-30",
           "2026-11-30T10:00:00",         // no zone
           "2026-11-30T10:00Z",           // no seconds
           "2026-11-30T10:00:00.Z",       // a dot without digits
           "2026-11-30T10:00:00,5Z",      // a comma
           "2026-11-30T24:00:00Z",        // hour 24
           "2026-11-30T10:60:00Z",        // minute 60
           "2026-11-30T10:00:61Z",        // second 61
           "2026-11-30T10:00:00+24:00",   // offset hour 24
           "2026-11-30T10:00:00+09:60",   // offset minute 60
           "2026-11-30T10:00:00+0900",    // offset without a colon
           "2026-11-30T10:00:00+09",      // offset cut short
           "2026-11-30T10:00:00+9:00",    // one-digit offset hour
           "2026-11-30T10:00:00+09:00x",  // trailing garbage
           "2026-11-30T10:00:00ZZ",
           "2026-11-30T10:00:00 Z",
           "2026/11/30T10:00:00Z",
           "2026-11-30X10:00:00Z",
           "26-11-30T10:00:00Z",
           "2026-1-30T10:00:00Z",
           "2026-11-30T1:00:00Z",
           "+2026-11-30T10:00:00Z",
           " 2026-11-30T10:00:00Z",
           "2026-11-30T10:00:00Z ",
           "２０２６-11-30T10:00:00Z",  // full-width digits
           "tomorrow at ten",
       }) {
    EXPECT_FALSE(parse_rfc3339(bad)) << '"' << bad << '"';
  }
}

TEST(FormatRfc3339, UtcWhenNoZoneOrUtc) {
  const TimePoint t = from_epoch_ms(monday_01_utc);
  EXPECT_EQ(format_rfc3339(t), "2026-11-30T01:00:00Z");
  EXPECT_EQ(format_rfc3339(t, ""), "2026-11-30T01:00:00Z");
  EXPECT_EQ(format_rfc3339(t, "UTC"), "2026-11-30T01:00:00Z");
  EXPECT_EQ(format_rfc3339(from_epoch_ms(0)), "1970-01-01T00:00:00Z");
}

TEST(FormatRfc3339, WholeSecondsFractionsDropped) {
  EXPECT_EQ(format_rfc3339(from_epoch_ms(monday_01_utc + 999)), "2026-11-30T01:00:00Z");
  EXPECT_EQ(format_rfc3339(from_epoch_ms(-500)), "1969-12-31T23:59:59Z")
      << "before the epoch, the second it falls in (floor, not toward zero)";
}

TEST(FormatRfc3339, ZonesGiveTheirOffsetAndLocalTime) {
  const TimePoint t = from_epoch_ms(monday_01_utc);
  EXPECT_EQ(format_rfc3339(t, "Asia/Tokyo"), "2026-11-30T10:00:00+09:00");
  EXPECT_EQ(format_rfc3339(t, "Asia/Kolkata"), "2026-11-30T06:30:00+05:30");
  EXPECT_EQ(format_rfc3339(t, "America/New_York"), "2026-11-29T20:00:00-05:00");
  EXPECT_EQ(format_rfc3339(t, "America/St_Johns"), "2026-11-29T21:30:00-03:30");
  EXPECT_EQ(format_rfc3339(t, "Asia/Kathmandu"), "2026-11-30T06:45:00+05:45");
  EXPECT_EQ(format_rfc3339(t, "Europe/London"), "2026-11-30T01:00:00+00:00")
      << "a zone at UTC says +00:00, not Z";
}

TEST(FormatRfc3339, DaylightSavingTimeFollowsTheDate) {
  // New York: EST until 2026-03-08 07:00Z, EDT after.
  const TimePoint before = *parse_rfc3339("2026-03-08T06:59:59Z");
  const TimePoint after = *parse_rfc3339("2026-03-08T07:00:00Z");
  EXPECT_EQ(format_rfc3339(before, "America/New_York"), "2026-03-08T01:59:59-05:00");
  EXPECT_EQ(format_rfc3339(after, "America/New_York"), "2026-03-08T03:00:00-04:00");
  const TimePoint summer = *parse_rfc3339("2026-07-01T12:00:00Z");
  EXPECT_EQ(format_rfc3339(summer, "Europe/Berlin"), "2026-07-01T14:00:00+02:00");
  EXPECT_EQ(format_rfc3339(summer, "Australia/Sydney"), "2026-07-01T22:00:00+10:00");
  const TimePoint january = *parse_rfc3339("2026-01-15T12:00:00Z");
  EXPECT_EQ(format_rfc3339(january, "Australia/Sydney"), "2026-01-15T23:00:00+11:00");
}

TEST(FormatRfc3339, UnknownZoneFormatsAsUtc) {
  const TimePoint t = from_epoch_ms(monday_01_utc);
  EXPECT_EQ(format_rfc3339(t, "Mars/Olympus_Mons"), "2026-11-30T01:00:00Z");
  EXPECT_EQ(format_rfc3339(t, "+09:00"), "2026-11-30T01:00:00Z");
  EXPECT_EQ(format_rfc3339(t, "asia/tokyo_"), "2026-11-30T01:00:00Z");
}

TEST(FormatRfc3339, WhatItWritesParsesBackToTheSameSecond) {
  const char* zones[] = {"",
                         "UTC",
                         "Asia/Tokyo",
                         "Asia/Kolkata",
                         "America/New_York",
                         "America/St_Johns",
                         "Australia/Lord_Howe",
                         "Pacific/Chatham",
                         "Africa/Monrovia",   // −0:44:30 until 1972
                         "Europe/Amsterdam",  // +0:19:32 until 1937
                         "Unknown/Zone"};
  const char* times[] = {"2026-11-30T01:00:00Z", "2026-03-08T06:59:59Z", "2026-03-08T07:00:00Z",
                         "2026-10-04T15:30:00Z", "1999-12-31T23:59:59Z", "1971-06-01T12:00:00Z",
                         "1936-06-01T12:00:00Z", "1969-12-31T23:59:59Z", "2038-01-19T03:14:08Z"};
  for (const char* zone : zones) {
    for (const char* time : times) {
      const TimePoint t = *parse_rfc3339(time);
      const std::string written = format_rfc3339(t, zone);
      const auto back = parse_rfc3339(written);
      ASSERT_TRUE(back) << zone << ": wrote " << written << ", which does not parse";
      EXPECT_EQ(to_epoch_ms(*back), to_epoch_ms(t))
          << zone << ": " << time << " was written " << written;
    }
  }
}

TEST(FormatRfc3339, AnOffsetWithSecondsIsWrittenInWholeMinutesNamingTheSameInstant) {
  // Liberia kept −0:44:30 until 1972; RFC 3339 has no seconds in an offset.
  const TimePoint t = *parse_rfc3339("1971-06-01T12:00:00Z");
  EXPECT_EQ(format_rfc3339(t, "Africa/Monrovia"), "1971-06-01T11:16:00-00:44");
}

TEST(FormatForPeople, JapaneseAndEnglishInTheZone) {
  const TimePoint t = from_epoch_ms(monday_01_utc);  // Mon 30 Nov 01:00Z = 10:00 in Tokyo
  EXPECT_EQ(format_for_people(t, "Asia/Tokyo", "ja"), "11月30日(月) 10:00");
  EXPECT_EQ(format_for_people(t, "Asia/Tokyo", "en"), "Mon 30 Nov 10:00");
  EXPECT_EQ(format_for_people(t, "UTC", "en"), "Mon 30 Nov 01:00");
  EXPECT_EQ(format_for_people(t, "America/New_York", "en"), "Sun 29 Nov 20:00")
      << "the day and weekday are the zone's";
  EXPECT_EQ(format_for_people(t, "America/New_York", "ja"), "11月29日(日) 20:00");
}

TEST(FormatForPeople, HeadersExample) {
  const TimePoint t = *parse_rfc3339("2026-12-01T10:00:00+09:00");
  EXPECT_EQ(format_for_people(t, "Asia/Tokyo", "ja"), "12月1日(火) 10:00");
  EXPECT_EQ(format_for_people(t, "Asia/Tokyo", "en"), "Tue 1 Dec 10:00");
}

TEST(FormatForPeople, EveryWeekdayAndMonthName) {
  const char* en_days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};  // from 2026-01-01
  const char* ja_days[] = {"木", "金", "土", "日", "月", "火", "水"};
  for (int d = 0; d < 7; ++d) {
    const TimePoint t = *parse_rfc3339("2026-01-01T00:00:00Z") + std::chrono::days(d);
    const std::string day = std::to_string(d + 1);
    EXPECT_EQ(format_for_people(t, "", "en"), std::string(en_days[d]) + " " + day + " Jan 00:00");
    EXPECT_EQ(format_for_people(t, "", "ja"), "1月" + day + "日(" + ja_days[d] + ") 00:00");
  }
  const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int m = 1; m <= 12; ++m) {
    char iso[32];
    std::snprintf(iso, sizeof iso, "2026-%02d-15T12:00:00Z", m);
    const std::string en = format_for_people(*parse_rfc3339(iso), "UTC", "en");
    EXPECT_NE(en.find(std::string(" 15 ") + months[m - 1] + " 12:00"), std::string::npos) << en;
    const std::string ja = format_for_people(*parse_rfc3339(iso), "UTC", "ja");
    EXPECT_EQ(ja.rfind(std::to_string(m) + "月15日(", 0), 0u) << ja;
  }
}

TEST(FormatForPeople, MinutesPaddedSecondsDroppedAnyOtherLocaleIsEnglish) {
  const TimePoint t = *parse_rfc3339("2026-06-05T07:05:59.900Z");
  EXPECT_EQ(format_for_people(t, "", "en"), "Fri 5 Jun 07:05");
  EXPECT_EQ(format_for_people(t, "", "ja"), "6月5日(金) 07:05");
  EXPECT_EQ(format_for_people(t, "", "fr"), "Fri 5 Jun 07:05");
  EXPECT_EQ(format_for_people(t, "", ""), "Fri 5 Jun 07:05");
  EXPECT_EQ(format_for_people(t, "", "JA"), "Fri 5 Jun 07:05") << "locale names are exact";
}

TEST(FormatForPeople, UnknownZoneIsUtc) {
  const TimePoint t = from_epoch_ms(monday_01_utc);
  EXPECT_EQ(format_for_people(t, "Nowhere/Special", "en"), "Mon 30 Nov 01:00");
  EXPECT_EQ(format_for_people(t, "Nowhere/Special", "ja"), "11月30日(月) 01:00");
}

TEST(FormatForPeople, TimesBeforeTheEpoch) {
  EXPECT_EQ(format_for_people(from_epoch_ms(-500), "", "en"), "Wed 31 Dec 23:59");
}

TEST(EpochMs, ConvertsBothWaysExactly) {
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, monday_01_utc,
                         std::int64_t{-86'400'000}, std::int64_t{253'402'300'799'999}}) {
    EXPECT_EQ(to_epoch_ms(from_epoch_ms(v)), v);
  }
  EXPECT_EQ(from_epoch_ms(1500).time_since_epoch(), 1500ms);
  EXPECT_EQ(from_epoch_ms(monday_01_utc), *parse_rfc3339("2026-11-30T01:00:00Z"));
  EXPECT_EQ(to_epoch_ms(from_epoch_ms(0) + 2s), 2000);
}

TEST(SystemNow, IsTheSystemClockInMilliseconds) {
  const auto before = std::chrono::floor<std::chrono::milliseconds>(Clock::now());
  const TimePoint now = system_now();
  const auto after = std::chrono::ceil<std::chrono::milliseconds>(Clock::now());
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
}

}  // namespace
}  // namespace dispatcher
