// Sender webhook events in the system of record: the event an audit record makes, queued in
// the audit's own statement (and deduplicated with it), then leased, retried and deleted as
// `run` delivers them — against a real PostgreSQL.
#include "store/webhook_events.hpp"

#include <gtest/gtest.h>

#include <regex>

#include "config/clock.hpp"
#include "store/audit.hpp"
#include "support/postgres_server.hpp"

namespace dispatcher {
namespace {

using nlohmann::json;

AuditRecord decision(const std::string& id, const std::string& decision,
                     const std::string& reason = {}) {
  AuditRecord r;
  r.time = *parse_rfc3339("2026-12-01T01:02:03Z");
  r.message_id = id;
  r.subject = "+819012345678";  // a phone-shaped subject: never in an event
  r.decision = decision;
  r.reason = reason;
  r.channel = decision == "send" ? "sms" : "";
  r.sender = "clinic:c-1";
  r.purpose = "reservation";
  r.provider_message_id = "SM1";
  return r;
}

TEST(WebhookEvent, SaysTheStateAndNothingPersonal) {
  auto e = webhook_event(to_json(decision("r-1", "send")));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->sender, "clinic:c-1");
  EXPECT_TRUE(std::regex_match(e->event_id, std::regex("[0-9a-f]{32}"))) << e->event_id;
  EXPECT_EQ(json::parse(e->body), (json{{"event_id", e->event_id},
                                        {"id", "r-1"},
                                        {"state", "sent"},
                                        {"channel", "sms"},
                                        {"time", "2026-12-01T01:02:03Z"}}));
  EXPECT_EQ(e->body.find("+8190"), std::string::npos);
  auto denied = webhook_event(to_json(decision("r-2", "deny", "opted_out:all")));
  ASSERT_TRUE(denied);
  EXPECT_EQ(json::parse(denied->body)["state"], "denied");
  EXPECT_EQ(json::parse(denied->body)["reason"], "opted_out:all");
  EXPECT_NE(denied->event_id, e->event_id);
  // A subject's own event (an opt-out) is no message's state change.
  AuditRecord optout;
  optout.event = "optout";
  optout.sender = "clinic:c-1";
  optout.subject = "m-1";
  EXPECT_FALSE(webhook_event(to_json(optout)));
}

class WebhookEvents : public ::testing::Test {
 protected:
  long long count(const std::string& sql) { return std::stoll(*pg_.exec(sql).rows.at(0).at(0)); }
  void write(const AuditBatch& b) { pg_.exec(AuditBatch::insert_sql(), {b.param()}); }
  pg::Rows claim(const std::string& now, const std::string& lease_until, int limit = 100) {
    return pg_.exec(claim_webhook_events_sql(), {now, lease_until, std::to_string(limit)});
  }

  testing_support::TestDatabase db_;
  pg::Connection pg_ = db_.connect();
};

TEST_F(WebhookEvents, QueuedWithTheAuditRowOnlyForSendersWithAWebhookAndOnlyOnce) {
  AuditBatch batch;
  batch.add(decision("r-1", "send"), "dsp:stream 1-0", /*event=*/true);
  batch.add(decision("r-2", "deny", "opted_out:all"), "dsp:stream 2-0", /*event=*/false);
  write(batch);
  EXPECT_EQ(count("SELECT count(*) FROM audit"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM webhook_events"), 1);
  // The same batch written again after a crash: no second row, no second event.
  write(batch);
  EXPECT_EQ(count("SELECT count(*) FROM audit"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM webhook_events"), 1);
  EXPECT_EQ(
      *pg_.exec("SELECT created_at = '2026-12-01T01:02:03Z' FROM webhook_events").rows.at(0).at(0),
      "t")
      << "the state change's own time";
}

TEST_F(WebhookEvents, ALeaseHidesAnEventUntilItEndsThenRetryAndDeleteSettleIt) {
  AuditBatch batch;
  batch.add(decision("r-1", "send"), {}, true);
  write(batch);
  auto first = claim("2026-12-01T01:02:03Z", "2026-12-01T01:03:03Z");
  ASSERT_EQ(first.rows.size(), 1u);
  const std::string event_id = *first.rows[0][0];
  EXPECT_EQ(*first.rows[0][1], "clinic:c-1");
  EXPECT_EQ(json::parse(*first.rows[0][2])["event_id"], event_id) << "the body as signed";
  EXPECT_EQ(*first.rows[0][3], "1") << "attempts";
  EXPECT_EQ(*first.rows[0][4], std::to_string(to_epoch_ms(*parse_rfc3339("2026-12-01T01:02:03Z"))));
  // Leased: another process finds nothing due until the lease ends.
  EXPECT_TRUE(claim("2026-12-01T01:02:30Z", "2026-12-01T01:03:30Z").rows.empty());
  // The receiver failed: due again later, with the error kept.
  pg_.exec(
      retry_webhook_events_sql(),
      {json::array(
           {{{"event_id", event_id}, {"next_at", "2026-12-01T01:10:00Z"}, {"error", "HTTP 500"}}})
           .dump()});
  EXPECT_TRUE(claim("2026-12-01T01:09:59Z", "2026-12-01T01:11:00Z").rows.empty());
  auto again = claim("2026-12-01T01:10:00Z", "2026-12-01T01:11:00Z");
  ASSERT_EQ(again.rows.size(), 1u);
  EXPECT_EQ(*again.rows[0][0], event_id) << "the same event, for the receiver to dedupe";
  EXPECT_EQ(*again.rows[0][3], "2");
  pg_.exec(delete_webhook_events_sql(), {json::array({event_id}).dump()});
  EXPECT_EQ(count("SELECT count(*) FROM webhook_events"), 0);
}

TEST_F(WebhookEvents, EachClaimTakesAtMostItsLimitInDueOrder) {
  AuditBatch batch;
  for (int i = 0; i < 5; ++i) batch.add(decision("r-" + std::to_string(i), "send"), {}, true);
  write(batch);
  EXPECT_EQ(claim("2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z", 3).rows.size(), 3u);
  EXPECT_EQ(claim("2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z", 3).rows.size(), 2u);
  EXPECT_TRUE(claim("2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z", 3).rows.empty());
}

}  // namespace
}  // namespace dispatcher
