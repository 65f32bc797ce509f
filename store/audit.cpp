#include "store/audit.hpp"

#include "store/webhook_events.hpp"

namespace dispatcher {

nlohmann::json to_json(const AuditRecord& r) {
  nlohmann::json j;
  j["time"] = format_rfc3339(r.time);
  j["event"] = r.event;
  auto put = [&](const char* name, const std::string& v) {
    if (!v.empty()) j[name] = v;
  };
  put("id", r.message_id);
  put("subject", r.subject);
  put("decision", r.decision);
  put("channel", r.channel);
  put("reason", r.reason);
  put("until", r.until);
  put("sender", r.sender);
  put("purpose", r.purpose);
  put("template", r.template_name);
  put("campaign", r.campaign);
  put("provider", r.provider);
  put("provider_message_id", r.provider_message_id);
  if (r.attempts > 0) j["attempts"] = r.attempts;
  if (r.extra.is_object())
    for (const auto& [k, v] : r.extra.items()) j[k] = v;
  return j;
}

void AuditBatch::add(const AuditRecord& r, std::string_view entry, bool event) {
  add_json(to_json(r), entry, event);
}

void AuditBatch::add_request(const nlohmann::json& request) {
  if (rows_++ > 0) json_ += ',';
  json_ += nlohmann::json{{"q", request}}.dump();
}

void AuditBatch::add_hot_state(const std::vector<redis::Command>& cmds, TimePoint time,
                               std::string_view entry) {
  if (cmds.empty()) return;
  nlohmann::json c = nlohmann::json::array();
  for (const auto& cmd : cmds) c.push_back(cmd.argv);
  nlohmann::json row = {{"s", {{"time", format_rfc3339(time)}, {"c", std::move(c)}}}};
  if (!entry.empty()) row["entry"] = entry;
  if (rows_++ > 0) json_ += ',';
  json_ += row.dump();
}

void AuditBatch::add_json(const nlohmann::json& record, std::string_view entry, bool event) {
  nlohmann::json row = {{"r", record}};
  if (!entry.empty()) row["entry"] = entry;
  if (event)
    if (auto e = webhook_event(record))
      row["hook"] = {{"event_id", e->event_id}, {"sender", e->sender}, {"body", e->body}};
  if (rows_++ > 0) json_ += ',';
  json_ += row.dump();
}

const std::string& AuditBatch::insert_sql() {
  // One statement: the entries not yet recorded are claimed and their rows (and the rows of no
  // entry) inserted, atomically; consent proofs go to their own table (kept longer), and the
  // webhook events of the rows kept to theirs.
  static const std::string sql = R"sql(
WITH rows AS (
  SELECT x->>'entry' AS entry, x->'r' AS r, x->'hook' AS h, x->'q' AS q, x->'s' AS s, n
  FROM json_array_elements($1::json) WITH ORDINALITY AS t(x, n)
), fresh AS (
  INSERT INTO audit_entries (entry)
  SELECT DISTINCT entry FROM rows WHERE entry IS NOT NULL
  ON CONFLICT DO NOTHING RETURNING entry
), kept AS (
  SELECT * FROM rows WHERE entry IS NULL OR entry IN (SELECT entry FROM fresh)
), proofs AS (
  INSERT INTO consent_proofs (time, subject, channel, record)
  SELECT (r->>'time')::timestamptz, coalesce(r->>'subject', ''), r->>'channel', r
  FROM kept WHERE r->>'event' = 'consent'
), hooks AS (
  INSERT INTO webhook_events (event_id, sender, body, created_at, next_at)
  SELECT h->>'event_id', h->>'sender', h->>'body', (r->>'time')::timestamptz, (r->>'time')::timestamptz
  FROM kept WHERE h IS NOT NULL
), requests AS (
  INSERT INTO subject_requests (id, subject, kind, state, received_at, due_at, via, by, closed_at)
  SELECT q->>'id', q->>'subject', q->>'kind', q->>'state', (q->>'received')::timestamptz,
         (q->>'due')::timestamptz, q->>'via', q->>'by', (q->>'closed')::timestamptz
  FROM kept WHERE q IS NOT NULL
  ON CONFLICT (id) DO NOTHING
), hot AS (
  INSERT INTO hot_state_log (time, commands)
  SELECT (s->>'time')::timestamptz, s->'c' FROM kept WHERE s IS NOT NULL ORDER BY n
), completes AS (
  UPDATE subject_requests AS o SET state = 'completed', closed_at = (k.q->>'closed')::timestamptz,
         note = 'carried out: ' || (k.q->>'id')
  FROM kept AS k
  WHERE k.q IS NOT NULL AND k.q->>'state' = 'completed' AND o.state = 'open'
    AND o.subject = k.q->>'subject' AND o.kind = k.q->>'kind'
)
INSERT INTO audit (time, subject, event, sender, message_id, entry, record)
SELECT (r->>'time')::timestamptz, coalesce(r->>'subject', ''), r->>'event', r->>'sender', r->>'id', entry, r
FROM kept WHERE r IS NOT NULL AND r->>'event' IS DISTINCT FROM 'consent'
)sql";
  return sql;
}

const std::string& history_sql() {
  static const std::string sql =
      "SELECT record::text FROM (SELECT time, seq, record FROM audit WHERE subject = $1 UNION ALL "
      "SELECT time, seq, record FROM consent_proofs WHERE subject = $1) AS h ORDER BY time, seq";
  return sql;
}

std::vector<nlohmann::json> history_of(const pg::Rows& rows) {
  std::vector<nlohmann::json> out;
  out.reserve(rows.rows.size());
  for (const auto& row : rows.rows)
    if (!row.empty() && row[0]) out.push_back(nlohmann::json::parse(*row[0], nullptr, false));
  return out;
}

}  // namespace dispatcher
