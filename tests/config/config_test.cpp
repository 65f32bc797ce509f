// dispatcher.yaml: defaults, strictness, and errors that name the key.
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "config/clock.hpp"

using dispatcher::config::load_string;
using dispatcher::config::LoadError;

TEST(Config, EmptyFileGivesTheDocumentedDefaults) {
  ::unsetenv("DISPATCHER_REDIS_URL");
  ::unsetenv("DISPATCHER_DATA_DIR");
  auto c = load_string("");
  EXPECT_EQ(c.data_dir, "var");
  EXPECT_TRUE(c.redis_url.empty());
  EXPECT_EQ(c.consumer.batch_size, 256);
  EXPECT_EQ(c.policy_file, "config/policy.yaml");
  EXPECT_EQ(c.phone_region, "JP");
}

TEST(Config, PhoneRegionIsAnUpperCaseTwoLetterCode) {
  EXPECT_EQ(load_string("phone_region: US\n").phone_region, "US");
  for (const char* bad : {"phone_region: jp\n", "phone_region: JPN\n", "phone_region: \"\"\n",
                          "phone_region: 81\n"}) {
    try {
      load_string(bad, "d.yaml");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const LoadError& e) {
      ASSERT_EQ(e.errors().size(), 1u) << bad;
      EXPECT_NE(e.errors()[0].find("d.yaml:1:"), std::string::npos) << e.errors()[0];
      EXPECT_NE(e.errors()[0].find("phone_region: "), std::string::npos) << e.errors()[0];
    }
  }
}

TEST(Config, UnknownKeysAndBadValuesAreErrorsNamingTheKey) {
  try {
    load_string(
        "consumer:\n  batch_size: zero\n  bogus: 1\nredis:\n  url: 5\nlog_level: loud\nwhat: 1\n",
        "d.yaml");
    FAIL() << "accepted a bad config";
  } catch (const LoadError& e) {
    std::string all;
    for (const auto& l : e.errors()) all += l + "\n";
    EXPECT_NE(all.find("d.yaml:2:15: consumer.batch_size: must be an integer"), std::string::npos)
        << all;
    EXPECT_NE(all.find("consumer.bogus: unknown key"), std::string::npos) << all;
    EXPECT_NE(all.find("log_level: must be one of"), std::string::npos) << all;
    EXPECT_NE(all.find("what: unknown key"), std::string::npos) << all;
  }
  EXPECT_THROW(load_string("consumer: [1, 2]\n"), LoadError);
  EXPECT_THROW(load_string("key: [unclosed\n"), LoadError);
}

TEST(Config, EnvironmentOverridesRedisAndDataDir) {
  ::setenv("DISPATCHER_REDIS_URL", "unix:///tmp/x.sock", 1);
  ::setenv("DISPATCHER_DATA_DIR", "/tmp/dd", 1);
  auto c = load_string("redis:\n  url: redis://10.0.0.1:6379\ndata_dir: elsewhere\n");
  EXPECT_EQ(c.redis_url, "unix:///tmp/x.sock");
  EXPECT_EQ(c.data_dir, "/tmp/dd");
  ::unsetenv("DISPATCHER_REDIS_URL");
  ::unsetenv("DISPATCHER_DATA_DIR");
}

TEST(Config, DatabaseUrlComesFromTheFileOrTheEnvironment) {
  ::unsetenv("DISPATCHER_DATABASE_URL");
  EXPECT_EQ(load_string("").database_url, "") << "empty: the embedded cluster";
  EXPECT_EQ(load_string("database:\n  url: postgresql:///dsp\n").database_url, "postgresql:///dsp");
  ::setenv("DISPATCHER_DATABASE_URL", "host=/run/pg dbname=d", 1);
  EXPECT_EQ(load_string("database:\n  url: postgresql:///dsp\n").database_url,
            "host=/run/pg dbname=d");
  ::unsetenv("DISPATCHER_DATABASE_URL");
  EXPECT_THROW(load_string("database:\n  host: x\n"), LoadError);
}

TEST(Config, ConsentProofsAreKeptAtLeastAsLongAsTheAudit) {
  auto c = load_string("");
  EXPECT_EQ(c.retention.audit_days, 1095);
  EXPECT_EQ(c.retention.consent_days, 3650);
  EXPECT_EQ(
      load_string("retention:\n  audit_days: 400\n  consent_days: 400\n").retention.audit_days,
      400);
  try {
    load_string("retention:\n  audit_days: 800\n  consent_days: 400\n", "d.yaml");
    FAIL() << "accepted proofs kept shorter than the audit";
  } catch (const LoadError& e) {
    ASSERT_EQ(e.errors().size(), 1u);
    EXPECT_NE(e.errors()[0].find("retention.consent_days: must be at least audit_days"),
              std::string::npos)
        << e.errors()[0];
  }
  EXPECT_THROW(load_string("retention:\n  audit_days: 3\n"), LoadError) << "at least a month";
}

TEST(Clock, Rfc3339RoundTripsWithZones) {
  auto t = dispatcher::parse_rfc3339("2026-11-25T08:00:00+09:00");
  ASSERT_TRUE(t);
  EXPECT_EQ(dispatcher::format_rfc3339(*t), "2026-11-24T23:00:00Z");
  EXPECT_EQ(dispatcher::format_rfc3339(*t, "Asia/Tokyo"), "2026-11-25T08:00:00+09:00");
  EXPECT_FALSE(dispatcher::parse_rfc3339("2026-11-25 08:00"));
  EXPECT_FALSE(dispatcher::parse_rfc3339("2026-11-25T08:00:00"));
}

TEST(Clock, TimesForPeopleInTheirZoneAndLanguage) {
  auto t = dispatcher::parse_rfc3339("2026-11-30T23:30:00Z");  // Tuesday 08:30 in Tokyo
  ASSERT_TRUE(t);
  EXPECT_EQ(dispatcher::format_for_people(*t, "Asia/Tokyo", "ja"), "12月1日(火) 08:30");
  EXPECT_EQ(dispatcher::format_for_people(*t, "Asia/Tokyo", "en"), "Tue 1 Dec 08:30");
  EXPECT_EQ(dispatcher::format_for_people(*t, "America/New_York", "en"), "Mon 30 Nov 18:30");
  EXPECT_EQ(dispatcher::format_for_people(*t, "Not/AZone", "ja"), "11月30日(月) 23:30")
      << "unknown zone: UTC";
}
