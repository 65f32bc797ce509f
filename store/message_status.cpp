#include "store/message_status.hpp"

#include <charconv>

#include "config/clock.hpp"
#include "store/idempotency.hpp"

namespace dispatcher {

std::optional<std::string_view> state_after(const nlohmann::json& record) {
  const std::string event = record.value("event", "");
  if (event == "dead_letter") return "dead";
  if (event == "delivery_failed") return "failed";
  if (event == "cancelled") return "cancelled";
  if (event != "decision") return std::nullopt;
  const std::string decision = record.value("decision", "");
  if (decision == "send") return "sent";
  if (decision == "deny") return "denied";
  if (decision == "defer") return "deferred";
  return std::nullopt;
}

nlohmann::json to_json(const MessageStatus& s) {
  nlohmann::json j;
  j["id"] = s.id;
  j["sender"] = s.sender;
  j["state"] = s.state;
  auto put = [&](const char* name, const std::string& v) {
    if (!v.empty()) j[name] = v;
  };
  put("reason", s.reason);
  put("channel", s.channel);
  put("provider_message_id", s.provider_message_id);
  put("until", s.until);
  if (s.attempts > 0) j["attempts"] = s.attempts;
  put("updated_at", s.updated_at);
  return j;
}

const std::string& message_records_sql() {
  static const std::string sql =
      "SELECT record::text FROM audit WHERE sender = $1 AND message_id = $2 ORDER BY time, seq";
  return sql;
}

std::vector<redis::Command> queue_status_commands(const Keys& k, std::string_view sender,
                                                  std::string_view id) {
  const std::string key = message_key(sender, id);
  return {redis::cmd("ZSCORE", k.scheduled(), key), redis::cmd("HGET", k.sched(key), "attempts"),
          redis::cmd("GET", k.done(key)),
          redis::cmd("SISMEMBER", k.senders_of(id), std::string(sender))};
}

namespace {

int to_int(const std::string& s) {
  int n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

}  // namespace

std::optional<MessageStatus> status_of(std::string_view sender, std::string_view id,
                                       const pg::Rows& records,
                                       const std::vector<redis::Reply>& queue,
                                       std::string_view zone) {
  MessageStatus s;
  s.id = id;
  s.sender = sender;
  // The last decision recorded, if any.
  for (const auto& row : records.rows) {
    if (row.empty() || !row[0]) continue;
    const auto r = nlohmann::json::parse(*row[0], nullptr, false);
    const auto state = state_after(r);
    if (!state) continue;
    MessageStatus next;
    next.id = s.id;
    next.sender = s.sender;
    next.state = *state;
    next.reason = r.value("reason", "");
    next.channel = r.value("channel", "");
    next.provider_message_id = r.value("provider_message_id", "");
    next.until = r.value("until", "");
    next.attempts = r.value("attempts", 0);
    next.updated_at = r.value("time", "");
    s = std::move(next);
  }
  // Sent, denied, failed and cancelled are final: the idempotency record holds the id.
  if (s.state == "sent" || s.state == "denied" || s.state == "failed" || s.state == "cancelled")
    return s;
  const bool answered = queue.size() == 4 && !queue[0].is_error();
  const redis::Reply nil;
  const redis::Reply& due = answered ? queue[0] : nil;
  const redis::Reply& attempts = answered ? queue[1] : nil;
  const redis::Reply& done = answered ? queue[2] : nil;
  const bool used = answered && queue[3].integer == 1;
  if (due.is_string()) {  // waiting in the scheduled set
    long long ms = 0;
    std::from_chars(due.str.data(), due.str.data() + due.str.size(), ms);
    const int tries = attempts.is_string() ? to_int(attempts.str) : 0;
    if (s.state == "deferred") return s;             // the policy's deferral, with its reason
    s.state = tries > 0 ? "deferred" : "scheduled";  // a provider retry, or the send_at
    s.until = format_rfc3339(from_epoch_ms(ms), zone);
    s.attempts = tries;
    s.reason.clear();
    return s;
  }
  if (done.is_string() && (done.str == cancelling_value || done.str == cancelled_value)) {
    // Cancelled while queued (its row comes when a consumer reaches it), or its row is lost.
    s.state = "cancelled";
    s.reason = "cancelled";
    return s;
  }
  const bool claimed = done.is_string() && done.str.rfind("c:", 0) == 0;
  if (s.state == "dead" && !claimed) return s;
  if (claimed || used || s.state == "deferred") {  // in the stream, or being delivered now
    s.state = "queued";
    s.reason.clear();
    s.until.clear();
    return s;
  }
  if (!s.state.empty()) return s;
  return std::nullopt;
}

}  // namespace dispatcher
