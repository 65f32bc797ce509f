// The audit record: its JSON form, and the append to the subject's history stream in a real
// Redis (read back, and capped).
#include "store/audit.hpp"

#include <gtest/gtest.h>

#include "store/redis/sync_client.hpp"
#include "support/redis_server.hpp"

namespace dispatcher {
namespace {

using nlohmann::json;
using redis::cmd;

TimePoint at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

AuditRecord sent() {
  AuditRecord r;
  r.time = at("2026-11-25T01:02:03.456Z");
  r.message_id = "rsv-8812-remind-24h";
  r.subject = "m-123";
  r.decision = "send";
  r.channel = "sms";
  r.sender = "clinic:c-102";
  r.purpose = "reservation";
  r.template_name = "reservation.reminder";
  r.provider = "twilio";
  r.provider_message_id = "SM123";
  r.attempts = 2;
  return r;
}

TEST(AuditJson, CarriesEverySetFieldUnderItsName) {
  const json j = to_json(sent());
  EXPECT_EQ(j, (json{{"time", "2026-11-25T01:02:03Z"},  // whole seconds
                     {"event", "decision"},
                     {"id", "rsv-8812-remind-24h"},
                     {"subject", "m-123"},
                     {"decision", "send"},
                     {"channel", "sms"},
                     {"sender", "clinic:c-102"},
                     {"purpose", "reservation"},
                     {"template", "reservation.reminder"},
                     {"provider", "twilio"},
                     {"provider_message_id", "SM123"},
                     {"attempts", 2}}))
      << j.dump();
}

TEST(AuditJson, LeavesOutWhatIsEmpty) {
  AuditRecord r;
  r.time = at("2026-11-25T00:00:00Z");
  r.event = "dead_letter";
  r.reason = "invalid_message:not_json";
  const json j = to_json(r);
  EXPECT_EQ(j, (json{{"time", "2026-11-25T00:00:00Z"},
                     {"event", "dead_letter"},
                     {"reason", "invalid_message:not_json"}}))
      << j.dump();
}

TEST(AuditJson, MergesEventFieldsAndIgnoresANonObject) {
  AuditRecord r;
  r.time = at("2026-11-25T00:00:00Z");
  r.event = "defer";
  r.decision = "defer";
  r.reason = "quiet_hours";
  r.until = "2026-11-25T08:00:00+09:00";
  r.extra = {{"due", "2026-12-09"}, {"kind", "開示"}};
  json j = to_json(r);
  EXPECT_EQ(j["until"], "2026-11-25T08:00:00+09:00");
  EXPECT_EQ(j["due"], "2026-12-09");
  EXPECT_EQ(j["kind"], "開示");
  r.extra = json::array({"not", "fields"});
  j = to_json(r);
  EXPECT_FALSE(j.contains("not"));
  EXPECT_EQ(j.size(), 5u) << j.dump();
}

class AuditStream : public ::testing::Test {
 protected:
  testing_support::TempDir tmp_;
  testing_support::RedisServer server_{tmp_.path()};
  redis::SyncClient redis_ = server_.client();
  Keys keys_;
};

TEST_F(AuditStream, AppendsToTheSubjectsHistoryInOrder) {
  AuditRecord first = sent();
  AuditRecord second = sent();
  second.message_id = "rsv-8813";
  second.decision = "deny";
  second.reason = "opted_out:all";
  AuditRecord other = sent();
  other.subject = "m-999";
  ASSERT_EQ(
      redis::first_error({}, redis_.exec({audit_command(keys_, first), audit_command(keys_, second),
                                          audit_command(keys_, other)})),
      "");

  auto entries = redis_.run(cmd("XRANGE", "dsp:hist:m-123", "-", "+"));
  ASSERT_EQ(entries.elements.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& fields = entries.elements[i].elements[1].elements;
    ASSERT_EQ(fields.size(), 2u);
    EXPECT_EQ(fields[0].str, "r");
    EXPECT_EQ(json::parse(fields[1].str), to_json(i == 0 ? first : second));
  }
  EXPECT_EQ(redis_.run(cmd("XLEN", "dsp:hist:m-999")).integer, 1);
}

TEST_F(AuditStream, OneSubjectsHistoryIsCapped) {
  // Past 100,000 records the oldest go (approximately: Redis trims whole stream nodes).
  AuditRecord r = sent();
  const int total = 100'500;
  std::vector<redis::Command> cmds;
  for (int written = 0; written < total;) {
    cmds.clear();
    for (int i = 0; i < 10'000 && written < total; ++i, ++written) {
      r.message_id = "m-" + std::to_string(written);
      cmds.push_back(audit_command(keys_, r));
    }
    ASSERT_EQ(redis::first_error(cmds, redis_.exec(cmds)), "");
  }
  const long long len = redis_.run(cmd("XLEN", "dsp:hist:m-123")).integer;
  EXPECT_GE(len, 100'000);
  EXPECT_LT(len, total);
  // What is kept is the newest.
  auto last = redis_.run(cmd("XREVRANGE", "dsp:hist:m-123", "+", "-", "COUNT", "1"));
  ASSERT_EQ(last.elements.size(), 1u);
  EXPECT_EQ(json::parse(last.elements[0].elements[1].elements[1].str)["id"],
            "m-" + std::to_string(total - 1));
}

}  // namespace
}  // namespace dispatcher
