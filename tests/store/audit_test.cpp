// The audit record: its JSON form, and its row in a real PostgreSQL (one statement per batch,
// read back in order, an entry written twice kept once, in its month's partition).
#include "store/audit.hpp"

#include <gtest/gtest.h>

#include "support/postgres_server.hpp"

namespace dispatcher {
namespace {

using nlohmann::json;

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

class AuditTable : public ::testing::Test {
 protected:
  std::vector<json> history(const std::string& subject) {
    std::vector<json> out;
    for (const auto& line : db_.history(subject)) out.push_back(json::parse(line));
    return out;
  }
  long long count(const std::string& sql) { return std::stoll(*pg_.exec(sql).rows.at(0).at(0)); }
  void write(const AuditBatch& b) { pg_.exec(AuditBatch::insert_sql(), {b.param()}); }

  testing_support::TestDatabase db_;
  pg::Connection pg_ = db_.connect();
};

TEST_F(AuditTable, OneStatementWritesABatchAndHistoryReadsItBackInOrder) {
  AuditRecord first = sent();
  AuditRecord second = sent();
  second.message_id = "rsv-8813";
  second.decision = "deny";
  second.reason = "opted_out:all";
  AuditRecord other = sent();
  other.subject = "m-999";
  AuditBatch b;
  b.add(first, "dsp:stream 1-0");
  b.add(second, "dsp:stream 1-1");
  b.add(other);
  EXPECT_EQ(b.size(), 3u);
  write(b);
  // Same time, two rows: the order written is the order read.
  EXPECT_EQ(history("m-123"), (std::vector<json>{to_json(first), to_json(second)}));
  EXPECT_EQ(history("m-999"), std::vector<json>{to_json(other)});
  EXPECT_TRUE(history("m-nobody").empty());
  // Indexed columns beside the record: by message, by event.
  EXPECT_EQ(count("SELECT count(*) FROM audit WHERE sender = 'clinic:c-102' AND message_id = "
                  "'rsv-8813' AND event = 'decision'"),
            1);
}

TEST_F(AuditTable, AnEntryWrittenAgainAddsNoRow) {
  // A consumer that died after writing and before acknowledging: its entries are claimed and
  // decided again, and written again with the same entry names.
  AuditBatch b;
  AuditRecord r = sent();
  for (int i = 0; i < 3; ++i) {
    r.message_id = "m-" + std::to_string(i);
    b.add(r, "dsp:stream 5-" + std::to_string(i));
  }
  write(b);
  AuditBatch again;
  for (int i = 0; i < 4; ++i) {  // the three once more, and one new
    r.message_id = "m-" + std::to_string(i);
    again.add(r, "dsp:stream 5-" + std::to_string(i));
  }
  write(again);
  EXPECT_EQ(count("SELECT count(*) FROM audit"), 4);
  EXPECT_EQ(count("SELECT count(DISTINCT message_id) FROM audit"), 4);
  // Records of no entry (a subject request) are written each time: they are separate events.
  AuditBatch requests;
  AuditRecord optout;
  optout.time = r.time;
  optout.event = "optout";
  optout.subject = "m-123";
  requests.add(optout);
  write(requests);
  write(requests);
  EXPECT_EQ(count("SELECT count(*) FROM audit WHERE event = 'optout'"), 2);
}

TEST_F(AuditTable, ARecordWithoutASubjectIsKeptUnderTheEmptyOne) {
  AuditRecord dead;
  dead.time = at("2026-11-25T00:00:00Z");
  dead.event = "dead_letter";
  dead.reason = "invalid_message:not_json";
  AuditBatch b;
  b.add(dead, "dsp:stream 9-0");
  write(b);
  EXPECT_EQ(history(""), std::vector<json>{to_json(dead)});
}

TEST_F(AuditTable, RowsLandInTheirMonthsPartition) {
  AuditBatch b;
  AuditRecord r = sent();
  r.time = system_now();
  b.add(r);
  write(b);
  // migrate() made this month's partition (and the next two); the row is there, not in the
  // default partition.
  EXPECT_EQ(count("SELECT count(*) FROM audit_default"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM audit"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit'::regclass"), 4);
}

}  // namespace
}  // namespace dispatcher
