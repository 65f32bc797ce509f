// Messages that wait: `send_at` in the future, deferred by quiet hours, or retried later.
// They sit in a sorted set (message key → due time) beside their payload; a timer moves the due
// ones into the stream atomically (a Lua script, so two consumers never move one twice).
#pragma once

#include <string>

#include "config/clock.hpp"
#include "model/keys.hpp"
#include "store/redis/reply.hpp"

namespace dispatcher {

redis::Command move_due_command(const Keys& k, TimePoint now, int limit);

// Cancels a message by its message_key(sender, id). The reply is [status, payload]: status
// "cancelled" (it was scheduled: its payload, for the audit row the caller writes;
// dispatcher/cancellation.hpp), "marked" (not scheduled: if it is still queued, it will not be
// delivered, and the consumer that meets it records the cancellation), "in_flight" (a consumer
// is delivering it right now) or "already" (decided before). The idempotency record says which
// (store/idempotency.hpp: cancelled_value, cancelling_value).
redis::Command cancel_command(const Keys& k, std::string_view key, std::int64_t ttl_ms);

// Schedules a payload for later, under its message_key(sender, id).
std::vector<redis::Command> schedule_commands(const Keys& k, std::string_view key,
                                              std::string_view payload, TimePoint due,
                                              int attempts = 0);

}  // namespace dispatcher
