// The audit log: one record per decision (and per subject event), per subject, in PostgreSQL's
// `audit` table (store/migrations/0001_audit.sql), the system of record.
//
// Records carry ids, codes and times — never an address, phone number or token — so a
// subject's history can be shown and exported after erasure without holding contact data.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/clock.hpp"
#include "store/pg/result.hpp"
#include "store/redis/reply.hpp"

namespace dispatcher {

struct AuditRecord {
  TimePoint time;
  std::string event =
      "decision";  // decision | dead_letter | cancelled | consent | optout | optin | stop | erase …
  std::string message_id;
  std::string subject;
  std::string decision;  // send | defer | deny (for decisions)
  std::string channel;
  std::string reason;
  std::string until;  // RFC 3339 when deferred
  std::string sender, purpose, template_name, campaign;
  std::string provider, provider_message_id;
  int attempts = 0;
  nlohmann::json extra;  // event-specific fields (consent proof, request due date …)
};

nlohmann::json to_json(const AuditRecord& r);

// Records to write as one statement (one round trip, however many rows): the consumer's batch,
// or what one subject request changed. The same statement serves both connections:
//   conn.exec(AuditBatch::insert_sql(), {batch.param()})
class AuditBatch {
 public:
  // `entry` names the stream entry the record decides (the stream key and entry id): rows of
  // an entry already written are skipped, so a batch written again after a crash adds nothing.
  // `event`: the record's sender has a webhook; a record that changes its message's state also
  // queues the event (store/webhook_events.hpp), in the same statement, deduplicated with it.
  void add(const AuditRecord& r, std::string_view entry = {}, bool event = false);
  // A record already in its JSON form (to_json), e.g. one read back from an older store.
  void add_json(const nlohmann::json& record, std::string_view entry = {}, bool event = false);
  // A subject request (store/requests.hpp, request_json) to record with the rows: a completed
  // one also completes the subject's open requests of its kind.
  void add_request(const nlohmann::json& request);
  // Hot-state commands to log for a rebuild (store/hot_state.hpp, already filtered and masked
  // by hot_state_commands), under `entry` like a record; nothing when `cmds` is empty.
  void add_hot_state(const std::vector<redis::Command>& cmds, TimePoint time,
                     std::string_view entry = {});
  bool empty() const { return rows_ == 0; }
  std::size_t size() const { return rows_; }
  pg::Value param() const { return json_ + "]"; }
  static const std::string& insert_sql();

 private:
  std::string json_ = "[";
  std::size_t rows_ = 0;
};

// A subject's history, oldest first: the JSON records as written.
const std::string& history_sql();  // $1: the subject key
std::vector<nlohmann::json> history_of(const pg::Rows& rows);

}  // namespace dispatcher
