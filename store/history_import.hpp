// The one-time move of the audit an older dispatcher kept in Redis (a stream per subject,
// `<prefix>hist:<subject>`, each entry's field "r" one JSON record) into the system of record.
// Run at start-up after the migrations, by every verb that migrates: it finds nothing once done.
// Each record is written with its stream entry as its mark (store/audit.hpp), and a stream is
// deleted only after its records are in, so a crash part-way repeats nothing and loses nothing.
// The subject requests it kept in the hash `<prefix>requests` move to their table the same way
// (keyed by their ids: written twice, kept once).
#pragma once

#include <string>

#include "store/pg/connection.hpp"
#include "store/redis/sync_client.hpp"

namespace dispatcher {

struct HistoryImported {
  long long streams = 0, records = 0, unreadable = 0;  // unreadable: not JSON, skipped
  long long requests = 0;  // subject requests from the hash `<prefix>requests`
};

HistoryImported import_redis_history(pg::Connection& db, redis::SyncClient& r,
                                     const std::string& key_prefix);

}  // namespace dispatcher
