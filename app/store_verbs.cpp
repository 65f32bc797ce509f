// migrate, embedded status|stop, state rebuild: the stores themselves (DESIGN.md "Embedded
// default").
#include <cstdio>

#include "app/verbs.hpp"
#include "config/config.hpp"
#include "dispatcher/runtime.hpp"
#include "store/embedded_redis.hpp"
#include "store/hot_state.hpp"
#include "store/pg/embedded_postgres.hpp"
#include "store/pg/migrations.hpp"
#include "store/redis/sync_client.hpp"

namespace dispatcher::verbs {

namespace {

int migrate(const Common& common) {
  Runtime rt = open_runtime(common.config_file, Needs{false, false});
  auto db = pg::Connection::connect(rt.database_url());
  const auto u = rt.upkeep(db);
  std::printf("migrate: %d migration%s applied; the schema is at version %d\n", u.migrations,
              u.migrations == 1 ? "" : "s", pg::migrations().back().version);
  if (u.imported.streams > 0)
    std::printf(
        "migrate: moved %lld audit record%s of %lld subject%s from Redis (%lld unreadable)\n",
        u.imported.records, u.imported.records == 1 ? "" : "s", u.imported.streams,
        u.imported.streams == 1 ? "" : "s", u.imported.unreadable);
  if (!u.retention.dropped_partitions.empty())
    std::printf("migrate: retention dropped %zu month%s of the audit\n",
                u.retention.dropped_partitions.size(),
                u.retention.dropped_partitions.size() == 1 ? "" : "s");
  return 0;
}

int state_rebuild(const Common& common) {
  Runtime rt = open_runtime(common.config_file, Needs{false, false});
  auto db = rt.database();  // the upkeep rebuilds a Redis that lost its generation
  auto redis = redis::SyncClient::connect(rt.redis_endpoint());
  const long long n = rebuild_hot_state(db, redis, rt.keys);
  std::printf("state rebuild: %lld command%s replayed from the system of record\n", n,
              n == 1 ? "" : "s");
  return 0;
}

int embedded_status(const Common& common) {
  const config::Config c = config::load(common.config_file);
  if (!c.redis_url.empty())
    std::printf("redis: not embedded (redis.url or DISPATCHER_REDIS_URL is set)\n");
  else if (auto r = embedded_redis_status(c.data_dir); r.running)
    std::printf("redis: running, pid %ld, socket %s\n", r.pid, r.socket.c_str());
  else
    std::printf("redis: not running (socket %s)\n", r.socket.c_str());
  if (!c.database_url.empty()) {
    std::printf("postgresql: not embedded (database.url or DISPATCHER_DATABASE_URL is set)\n");
  } else if (auto p = embedded_postgres_status(c.data_dir); p.running) {
    std::printf(
        "postgresql: running, pid %ld, as user %s, socket %s/.s.PGSQL.5432, role dispatcher, "
        "database dispatcher, no TCP\n",
        p.pid, p.os_user.c_str(), p.socket_dir.c_str());
  } else {
    std::printf("postgresql: not running (cluster %s)\n", p.socket_dir.c_str());
  }
  return 0;
}

int embedded_stop(const Common& common) {
  const config::Config c = config::load(common.config_file);
  stop_embedded_redis(c.data_dir);
  stop_embedded_postgres(c.data_dir);
  std::printf("embedded: stopped (data kept in %s)\n", c.data_dir.c_str());
  return 0;
}

}  // namespace

void add_store_verbs(CLI::App& app, const Common& common, Verbs& out) {
  auto* mig = app.add_subcommand(
      "migrate",
      "apply the database's schema migrations (run and serve do it at start-up)\n"
      "  example: dispatcher migrate");
  out.push_back({mig, [&common] { return migrate(common); }});
  auto* emb = app.add_subcommand("embedded", "the private Redis and PostgreSQL of the default");
  emb->require_subcommand(1);
  auto* st = emb->add_subcommand(
      "status", "where they run (socket paths, pid, user)\n  example: dispatcher embedded status");
  out.push_back({st, [&common] { return embedded_status(common); }});
  auto* sp = emb->add_subcommand(
      "stop", "stop both (their data stays)\n  example: dispatcher embedded stop");
  out.push_back({sp, [&common] { return embedded_stop(common); }});
  auto* state = app.add_subcommand("state", "Redis's hot state, a cache of the system of record");
  state->require_subcommand(1);
  auto* rebuild = state->add_subcommand(
      "rebuild",
      "replay every opt-out, consent, stop, suppression and erasure marker from the database "
      "into Redis (run does it by itself when Redis lost its data)\n"
      "  example: dispatcher state rebuild");
  out.push_back({rebuild, [&common] { return state_rebuild(common); }});
}

}  // namespace dispatcher::verbs
