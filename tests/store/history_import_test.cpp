// The move of an older dispatcher's Redis audit streams into PostgreSQL, against both real
// servers: every record lands once, in order, the streams go, and a move interrupted after the
// write (the stream still there) repeats nothing.
#include "store/history_import.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "store/audit.hpp"
#include "store/requests.hpp"
#include "support/postgres_server.hpp"
#include "support/redis_server.hpp"

namespace dispatcher {
namespace {

using nlohmann::json;
using redis::cmd;

class HistoryImport : public ::testing::Test {
 protected:
  void add(const std::string& key, const std::string& id, const std::string& record) {
    ASSERT_FALSE(redis_.run(cmd("XADD", key, id, "r", record)).is_error());
  }
  long long rows() { return std::stoll(*pg_.exec("SELECT count(*) FROM audit").rows.at(0).at(0)); }

  testing_support::TempDir tmp_;
  testing_support::RedisServer server_{tmp_.path()};
  redis::SyncClient redis_ = server_.client();
  testing_support::TestDatabase db_;
  pg::Connection pg_ = db_.connect();
};

TEST_F(HistoryImport, MovesEveryRecordOnceAndDeletesTheStreams) {
  const json optout = {
      {"time", "2026-10-01T00:00:00Z"}, {"event", "optout"}, {"subject", "m-1"}, {"scope", "all"}};
  const json decision = {{"time", "2026-10-02T00:00:00Z"},
                         {"event", "decision"},
                         {"subject", "m-1"},
                         {"id", "r-1"},
                         {"decision", "deny"},
                         {"reason", "opted_out:all"}};
  const json other = {{"time", "2026-10-03T00:00:00Z"},
                      {"event", "decision"},
                      {"subject", "contact:ab12"},
                      {"id", "r-2"},
                      {"decision", "send"}};
  add("dsp:hist:m-1", "1-0", optout.dump());
  add("dsp:hist:m-1", "2-0", decision.dump());
  add("dsp:hist:m-1", "3-0", "not json");
  add("dsp:hist:contact:ab12", "1-0", other.dump());
  redis_.run(cmd("SET", "dsp:state:m-1", "x"));  // not a history stream: untouched

  auto done = import_redis_history(pg_, redis_, "dsp:");
  EXPECT_EQ(done.streams, 2);
  EXPECT_EQ(done.records, 3);
  EXPECT_EQ(done.unreadable, 1);
  std::vector<json> h;
  for (const auto& line : db_.history("m-1")) h.push_back(json::parse(line));
  EXPECT_EQ(h, (std::vector<json>{optout, decision}));
  EXPECT_EQ(db_.history("contact:ab12").size(), 1u);
  EXPECT_EQ(redis_.run(cmd("EXISTS", "dsp:hist:m-1", "dsp:hist:contact:ab12")).integer, 0);
  EXPECT_EQ(redis_.run(cmd("EXISTS", "dsp:state:m-1")).integer, 1);

  // Nothing left: a later start-up finds nothing to do.
  EXPECT_EQ(import_redis_history(pg_, redis_, "dsp:").records, 0);
  EXPECT_EQ(rows(), 3);
}

TEST_F(HistoryImport, AMoveInterruptedBeforeTheDeleteRepeatsNothing) {
  const json r1 = {{"time", "2026-10-01T00:00:00Z"}, {"event", "optout"}, {"subject", "m-1"}};
  add("dsp:hist:m-1", "5-0", r1.dump());
  ASSERT_EQ(import_redis_history(pg_, redis_, "dsp:").records, 1);
  // As if the process died between the write and the DEL: the same entries are there again.
  add("dsp:hist:m-1", "5-0", r1.dump());
  const json r2 = {{"time", "2026-10-05T00:00:00Z"}, {"event", "optin"}, {"subject", "m-1"}};
  add("dsp:hist:m-1", "6-0", r2.dump());
  import_redis_history(pg_, redis_, "dsp:");
  EXPECT_EQ(rows(), 2) << "the record already moved is not moved twice; the new one is";
}

}  // namespace
}  // namespace dispatcher

namespace dispatcher {
namespace {

TEST_F(HistoryImport, TheOlderRequestsHashMovesToItsTableOnce) {
  const json old = {{"id", "req-1"},
                    {"kind", "disclosure"},
                    {"subject", "m-1"},
                    {"received", "2026-10-01T00:00:00Z"},
                    {"due", "2026-10-15T00:00:00Z"},
                    {"status", "completed"},
                    {"completed", "2026-10-01T00:00:00Z"},
                    {"by", "api:operator"}};
  redis_.run(cmd("HSET", "dsp:requests", "req-1", old.dump(), "req-x", "not json"));
  auto done = import_redis_history(pg_, redis_, "dsp:");
  EXPECT_EQ(done.requests, 1);
  EXPECT_EQ(done.unreadable, 1);
  EXPECT_EQ(redis_.run(cmd("EXISTS", "dsp:requests")).integer, 0);
  auto rows = pg_.exec(list_requests_sql(), {"all"});
  ASSERT_EQ(rows.rows.size(), 1u);
  const auto moved = json::parse(*rows.rows[0][0]);
  EXPECT_EQ(moved["id"], "req-1");
  EXPECT_EQ(moved["state"], "completed");
  EXPECT_EQ(moved["via"], "api");
  EXPECT_EQ(moved["due"], "2026-10-15T00:00:00Z");
  EXPECT_EQ(moved["closed"], "2026-10-01T00:00:00Z");
  EXPECT_EQ(import_redis_history(pg_, redis_, "dsp:").requests, 0) << "found nothing once done";
}

}  // namespace
}  // namespace dispatcher
