// The one enqueue path, shared by `dispatcher enqueue` and HTTP intake: where a message goes
// when a producer hands it over.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "config/clock.hpp"
#include "model/keys.hpp"
#include "store/redis/reply.hpp"

namespace dispatcher {

// A message whose send_at is still ahead waits in the scheduled set (under message_key(sender,
// id)); anything else goes straight to the stream. Both callers have validated the message
// (`enqueue` and intake refuse an invalid one, naming it); what another producer writes to the
// stream directly may still be unreadable, and the consumer dead-letters that with its reason
// rather than anyone dropping it. The id's senders
// are remembered for `ttl_ms` (as long as its idempotency record), so that `cancel ID` can tell
// an id never seen from one two senders used. Returns whether it was scheduled.
bool enqueue_commands(const Keys& k, std::string_view sender, std::string_view id,
                      std::optional<TimePoint> send_at, std::string_view payload, TimePoint now,
                      std::int64_t ttl_ms, std::vector<redis::Command>& out);

}  // namespace dispatcher
