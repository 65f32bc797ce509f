#include "store/webhook_events.hpp"

#include "codec/random.hpp"
#include "store/message_status.hpp"

namespace dispatcher {

std::optional<WebhookEvent> webhook_event(const nlohmann::json& record) {
  const auto state = state_after(record);
  const std::string sender = record.value("sender", "");
  const std::string id = record.value("id", "");
  if (!state || sender.empty() || id.empty()) return std::nullopt;
  WebhookEvent e;
  e.event_id = random_hex(16);
  e.sender = sender;
  nlohmann::json body;
  body["event_id"] = e.event_id;
  body["id"] = id;
  body["state"] = *state;
  if (auto r = record.value("reason", ""); !r.empty()) body["reason"] = r;
  if (auto c = record.value("channel", ""); !c.empty()) body["channel"] = c;
  body["time"] = record.value("time", "");
  e.body = body.dump();
  return e;
}

const std::string& claim_webhook_events_sql() {
  static const std::string sql = R"sql(
UPDATE webhook_events SET next_at = $2::timestamptz, attempts = attempts + 1
WHERE event_id IN (
  SELECT event_id FROM webhook_events WHERE next_at <= $1::timestamptz
  ORDER BY next_at LIMIT $3::int FOR UPDATE SKIP LOCKED)
RETURNING event_id, sender, body, attempts, (extract(epoch FROM created_at) * 1000)::bigint
)sql";
  return sql;
}

const std::string& delete_webhook_events_sql() {
  static const std::string sql =
      "DELETE FROM webhook_events WHERE event_id IN (SELECT json_array_elements_text($1::json))";
  return sql;
}

const std::string& retry_webhook_events_sql() {
  static const std::string sql = R"sql(
UPDATE webhook_events AS w SET next_at = (x->>'next_at')::timestamptz, last_error = x->>'error'
FROM json_array_elements($1::json) AS x WHERE w.event_id = x->>'event_id'
)sql";
  return sql;
}

}  // namespace dispatcher
