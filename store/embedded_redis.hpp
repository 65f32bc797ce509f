// The private redis-server the verbs share when no Redis is configured (DESIGN.md).
//
// The first verb that needs it starts Debian's redis-server on a Unix socket under the data
// directory (AOF on, so scheduled messages and opt-outs survive a restart); later verbs find
// it again by its socket. A lock file keeps two verbs from starting two servers.
#pragma once

#include <filesystem>
#include <string>

namespace dispatcher {

// Returns the "unix://…" URL of the running embedded server, starting it when needed.
// Throws std::runtime_error with a one-line reason when it cannot.
std::string ensure_embedded_redis(const std::filesystem::path& data_dir);

// Stops the embedded server of a data directory, if running, and waits for it (≤ 10 s).
void stop_embedded_redis(const std::filesystem::path& data_dir);

struct EmbeddedRedisStatus {
  bool running = false;
  long pid = 0;
  std::filesystem::path socket;
};
EmbeddedRedisStatus embedded_redis_status(const std::filesystem::path& data_dir);

}  // namespace dispatcher
