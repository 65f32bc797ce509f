// Where a message is now (DESIGN.md "Message states"), for `dispatcher status`, the HTTP status
// route and the sender webhooks: one reading of the system of record (the message's audit rows)
// and of the queue (what Redis holds for a message not yet decided), used by all three.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/keys.hpp"
#include "store/pg/result.hpp"
#include "store/redis/reply.hpp"

namespace dispatcher {

// The state an audit record leaves its message in — sent, denied, deferred, failed, dead or
// cancelled — or nothing for a record that is not a message's decision (a consent, an opt-out,
// a provider's delivery report).
std::optional<std::string_view> state_after(const nlohmann::json& record);

struct MessageStatus {
  std::string id, sender, state, reason, channel, provider_message_id, until, updated_at;
  int attempts = 0;
};
// The `status` verb's JSON line: {"id","sender","state","reason","channel",
// "provider_message_id","until","attempts","updated_at"}, absent fields omitted.
nlohmann::json to_json(const MessageStatus& s);

// The message's audit records, oldest first. $1: sender, $2: id.
const std::string& message_records_sql();

// What the queue holds for message_key(sender, id): its place in the scheduled set, its
// attempts, its idempotency record and whether the sender used the id; read by status_of.
std::vector<redis::Command> queue_status_commands(const Keys& k, std::string_view sender,
                                                  std::string_view id);

// Both readings together; nothing when the dispatcher has no trace of the message (an id never
// seen, another sender's id, or one older than the audit's retention). `zone` writes times.
std::optional<MessageStatus> status_of(std::string_view sender, std::string_view id,
                                       const pg::Rows& records,
                                       const std::vector<redis::Reply>& queue,
                                       std::string_view zone = "Asia/Tokyo");

}  // namespace dispatcher
