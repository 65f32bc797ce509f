// Sender webhook events (DESIGN.md "Sender webhooks") as the system of record keeps them until
// their receiver accepts them (store/migrations/0003_webhook_events.sql): the event an audit
// record makes, and the statements `run` delivers them with (dispatcher/webhook_sender.hpp).
//
// An event carries the message's id, its new state, the reason code and the channel: never an
// address, a phone number or a subject.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace dispatcher {

struct WebhookEvent {
  std::string event_id;  // 32 random hex digits; the receiver dedupes by it
  std::string sender;
  std::string body;  // {"event_id","id","state","reason","channel","time"}, exactly as signed
};

// The event an audit record (to_json of an AuditRecord) makes for its sender, or nothing when
// the record changes no message's state (store/message_status.hpp, state_after).
std::optional<WebhookEvent> webhook_event(const nlohmann::json& record);

// Leases up to $3 events due at $1 until $2 (a process that dies mid-delivery leaves them to
// whoever looks after $2), counting the attempt. Rows: event_id, sender, body, attempts,
// created_at (epoch ms).
const std::string& claim_webhook_events_sql();
// $1: a JSON array of event ids, accepted (or given up): they leave.
const std::string& delete_webhook_events_sql();
// $1: a JSON array of {"event_id", "next_at" (RFC 3339), "error"}: tried again then.
const std::string& retry_webhook_events_sql();

}  // namespace dispatcher
