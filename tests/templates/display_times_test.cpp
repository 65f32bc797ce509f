#include "templates/display_times.hpp"

#include <gtest/gtest.h>

namespace dispatcher::templates {
namespace {

using nlohmann::json;

json shown(const json& data, std::string_view tz = "Asia/Tokyo", std::string_view locale = "ja") {
  json injected = json::object();
  add_display_times(data, tz, locale, injected);
  return injected;
}

TEST(DisplayTimes, RfcTimesUnderAtKeysReadAsPeopleReadThem) {
  const json data = {{"starts_at", "2026-12-01T10:00:00+09:00"},
                     {"ends_at", "2026-12-01T01:30:00Z"},
                     {"clinic", "さくら歯科"}};
  EXPECT_EQ(shown(data),
            (json{{"starts_at", "12月1日(火) 10:00"}, {"ends_at", "12月1日(火) 10:30"}}));
  EXPECT_EQ(shown(data, "Asia/Tokyo", "en"),
            (json{{"starts_at", "Tue 1 Dec 10:00"}, {"ends_at", "Tue 1 Dec 10:30"}}));
}

TEST(DisplayTimes, TheRecipientsZoneNotTheProducers) {
  const json data = {{"starts_at", "2026-12-01T10:00:00+09:00"}};
  EXPECT_EQ(shown(data, "America/New_York", "en"), (json{{"starts_at", "Mon 30 Nov 20:00"}}));
  EXPECT_EQ(shown(data, "UTC", "en"), (json{{"starts_at", "Tue 1 Dec 01:00"}}));
  EXPECT_EQ(shown(data, "", "en"), (json{{"starts_at", "Tue 1 Dec 01:00"}}));
  EXPECT_EQ(shown(data, "No/Such_Zone", "en"), (json{{"starts_at", "Tue 1 Dec 01:00"}}))
      << "an unknown zone shows UTC";
}

TEST(DisplayTimes, OnlyKeysEndingInAtAreTouched) {
  const json data = {
      {"starts", "2026-12-01T10:00:00+09:00"},  {"at", "2026-12-01T10:00:00+09:00"},
      {"_at", "2026-12-01T10:00:00+09:00"},     {"starts_AT", "2026-12-01T10:00:00+09:00"},
      {"at_home", "2026-12-01T10:00:00+09:00"}, {"x_at", "2026-12-01T10:00:00+09:00"}};
  EXPECT_EQ(shown(data), (json{{"x_at", "12月1日(火) 10:00"}}));
}

TEST(DisplayTimes, OtherValuesAreLeftToPrintAsGiven) {
  const json data = {{"starts_at", "tomorrow at ten"},
                     {"ends_at", "2026-12-01"},
                     {"sent_at", 1796086800000},
                     {"seen_at", nullptr},
                     {"paid_at", true},
                     {"moved_at", {{"time", "2026-12-01T10:00:00+09:00"}}},
                     {"list_at", json::array({"2026-12-01T10:00:00+09:00"})},
                     {"local_at", "2026-12-01T10:00:00"}};
  EXPECT_EQ(shown(data), json::object());
}

TEST(DisplayTimes, DataThatIsNoObjectAddsNothing) {
  for (const json& data : {json(nullptr), json::array({"2026-12-01T10:00:00Z"}),
                           json("2026-12-01T10:00:00Z"), json(3)}) {
    json injected = {{"kept", 1}};
    add_display_times(data, "Asia/Tokyo", "ja", injected);
    EXPECT_EQ(injected, (json{{"kept", 1}})) << data.dump();
  }
}

TEST(DisplayTimes, InjectedKeepsWhatItHadAndDataIsUnchanged) {
  const json data = {{"starts_at", "2026-12-01T10:00:00+09:00"}, {"name", "Hanako"}};
  const json before = data;
  json injected = {{"unsubscribe_url", "https://example.jp/u/abc"},
                   {"starts_at", "an older value"}};
  add_display_times(data, "Asia/Tokyo", "ja", injected);
  EXPECT_EQ(injected, (json{{"unsubscribe_url", "https://example.jp/u/abc"},
                            {"starts_at", "12月1日(火) 10:00"}}));
  EXPECT_EQ(data, before);
}

}  // namespace
}  // namespace dispatcher::templates
