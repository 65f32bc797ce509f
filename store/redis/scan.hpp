// Every key matching a pattern, by SCAN (never KEYS, which blocks Redis), for start-up work.
#pragma once

#include <functional>
#include <string>

#include "store/redis/sync_client.hpp"

namespace dispatcher::redis {

// Calls `f` for each key matching `pattern` (a key may come twice if it is written meanwhile,
// as SCAN promises). Throws std::runtime_error "redis: …" when Redis refuses.
void for_each_key(SyncClient& r, const std::string& pattern,
                  const std::function<void(const std::string& key)>& f);

}  // namespace dispatcher::redis
