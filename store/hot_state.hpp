// Redis's hot state as a cache of the system of record (DESIGN.md "Embedded default").
//
// Every command that changes it — opt-outs and opt-ins, consents, stops, erasure markers,
// suppressions, whoever runs them (CLI, HTTP, the consumer) — is logged in PostgreSQL
// (`hot_state_log`, store/migrations/0005_hot_state.sql) in the same statement as the change's
// audit rows (AuditBatch::add_hot_state). A generation value lives in both stores; when Redis
// lacks PostgreSQL's (flushed, restarted empty, an empty replica after a failover), the log is
// replayed in order before anything is sent. Replaying is idempotent: HSET, HDEL, DEL, ZADD, ZREM.
#pragma once

#include <string>
#include <vector>

#include "model/keys.hpp"
#include "store/pg/connection.hpp"
#include "store/redis/reply.hpp"
#include "store/redis/sync_client.hpp"

namespace dispatcher {

// The commands of `cmds` that change the hot state (state:, addr:, the suppression index), with
// every argument masked of e-mail addresses and phone numbers; the rest (subscriber records,
// caps, unsubscribe references) is not the system of record's.
std::vector<redis::Command> hot_state_commands(const Keys& k,
                                               const std::vector<redis::Command>& cmds);

struct HotStateCheck {
  bool rebuilt = false;
  long long commands = 0;  // replayed
  std::string generation;
};

// At start-up: gives the database a generation on first use (logging what the Redis already
// holds, once, so a Redis written before the log existed can be rebuilt too), and rebuilds a
// Redis that lacks it. Throws (pg::Error, redis::Error) when a store refuses.
HotStateCheck ensure_hot_state(pg::Connection& db, redis::SyncClient& r, const Keys& k);

// Replays the whole log into Redis and marks it with the database's generation (`state
// rebuild`). Returns the commands replayed.
long long rebuild_hot_state(pg::Connection& db, redis::SyncClient& r, const Keys& k);

}  // namespace dispatcher
