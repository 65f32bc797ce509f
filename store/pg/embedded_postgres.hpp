// The private PostgreSQL cluster the verbs share when no database is configured (DESIGN.md,
// "Embedded default"), as the embedded Redis is for the queue.
//
// The first verb that needs it runs Debian's initdb into <data dir>/pg/ (0700) and starts the
// server with pg_ctl, listening only on a Unix socket in that folder (no TCP), trusting local
// connections, superuser role `dispatcher`, database `dispatcher`; later verbs find it again
// by its socket. PostgreSQL refuses to run as root, so a root dispatcher initialises and runs
// the cluster as Debian's `postgres` user (the data directory is made 0711 so that user can
// reach pg/). A lock file keeps two verbs from starting two servers.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace dispatcher {

// The libpq connection string of the running embedded cluster, starting it when needed.
// Throws std::runtime_error with a one-line reason (naming the log to read) when it cannot.
std::string ensure_embedded_postgres(const std::filesystem::path& data_dir);

struct EmbeddedPostgresStatus {
  bool running = false;
  long pid = 0;
  std::filesystem::path socket_dir;  // where .s.PGSQL.5432 is
  std::string os_user;               // whom the server runs as
  std::string conninfo;
};
EmbeddedPostgresStatus embedded_postgres_status(const std::filesystem::path& data_dir);

// Stops the cluster of a data directory, if running (fast shutdown), and waits for it (≤ 30 s).
void stop_embedded_postgres(const std::filesystem::path& data_dir);

// A libpq keyword/value string, each value quoted as libpq wants ('…', with \' and \\).
std::string conninfo_of(const std::filesystem::path& socket_dir, const std::string& dbname,
                        const std::string& user);

}  // namespace dispatcher
