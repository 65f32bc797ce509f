#include "store/hot_state.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "codec/mask.hpp"
#include "codec/random.hpp"
#include "store/redis/scan.hpp"

namespace dispatcher {

namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool hot_key(const Keys& k, std::string_view key) {
  return starts_with(key, k.state("")) || starts_with(key, k.address("")) ||
         key == k.suppressed_index();
}

std::string generation_key(const Keys& k) { return k.prefix + "hot_state_generation"; }

void checked(const std::vector<redis::Command>& cmds, const std::vector<redis::Reply>& replies) {
  if (auto err = redis::first_error(cmds, replies); !err.empty())
    throw std::runtime_error("redis: " + err);
}

// Each hash matching `pattern`, as the HSET that makes it again.
void snapshot_hashes(redis::SyncClient& r, const std::string& pattern,
                     std::vector<redis::Command>& out) {
  redis::for_each_key(r, pattern, [&](const std::string& key) {
    auto h = r.run(redis::cmd("HGETALL", key));
    if (h.is_error() || h.elements.empty()) return;  // not a hash
    redis::Command c = redis::cmd("HSET", key);
    for (const auto& e : h.elements) c.argv.push_back(e.str);
    out.push_back(std::move(c));
  });
}

void log_commands(pg::Connection& db, const std::vector<redis::Command>& cmds) {
  constexpr std::size_t per_row = 1000;
  for (std::size_t i = 0; i < cmds.size(); i += per_row) {
    nlohmann::json c = nlohmann::json::array();
    for (std::size_t j = i; j < std::min(cmds.size(), i + per_row); ++j) c.push_back(cmds[j].argv);
    db.exec("INSERT INTO hot_state_log (time, commands) VALUES (now(), $1::json)", {c.dump()});
  }
}

}  // namespace

std::vector<redis::Command> hot_state_commands(const Keys& k,
                                               const std::vector<redis::Command>& cmds) {
  std::vector<redis::Command> out;
  for (const auto& c : cmds) {
    if (c.argv.size() < 2 || !hot_key(k, c.argv[1])) continue;
    const std::string& verb = c.argv[0];
    if (verb != "HSET" && verb != "HDEL" && verb != "DEL" && verb != "ZADD" && verb != "ZREM")
      continue;
    redis::Command m;
    for (const auto& a : c.argv) m.argv.push_back(mask_personal(a));
    out.push_back(std::move(m));
  }
  return out;
}

long long rebuild_hot_state(pg::Connection& db, redis::SyncClient& r, const Keys& k) {
  auto gen = db.exec("SELECT value FROM hot_state_generation WHERE id = 1");
  long long replayed = 0;
  std::string after = "0";
  for (int pages = 0; pages < 10'000'000; ++pages) {  // bounded by the log's length
    auto rows = db.exec(
        "SELECT seq, commands::text FROM hot_state_log WHERE seq > $1 ORDER BY seq LIMIT 500",
        {after});
    if (rows.rows.empty()) break;
    std::vector<redis::Command> cmds;
    for (const auto& row : rows.rows) {
      after = *row.at(0);
      auto list = nlohmann::json::parse(row.at(1).value_or("[]"), nullptr, false);
      if (!list.is_array()) continue;
      for (const auto& argv : list) {
        redis::Command c;
        for (const auto& a : argv) c.argv.push_back(a.get<std::string>());
        if (!c.argv.empty()) cmds.push_back(std::move(c));
      }
    }
    if (!cmds.empty()) checked(cmds, r.exec(cmds));
    replayed += static_cast<long long>(cmds.size());
  }
  if (!gen.rows.empty() && gen.rows[0][0]) {
    auto set = r.run(redis::cmd("SET", generation_key(k), *gen.rows[0][0]));
    if (set.is_error()) throw std::runtime_error("redis: " + set.str);
  }
  return replayed;
}

HotStateCheck ensure_hot_state(pg::Connection& db, redis::SyncClient& r, const Keys& k) {
  HotStateCheck check;
  auto gen = db.exec("SELECT value FROM hot_state_generation WHERE id = 1");
  if (gen.rows.empty()) {
    // First use of this database: what the Redis holds now is where the log starts.
    std::vector<redis::Command> now;
    snapshot_hashes(r, k.state("*"), now);
    snapshot_hashes(r, k.address("*"), now);
    auto z = r.run(redis::cmd("ZRANGE", k.suppressed_index(), "0", "-1", "WITHSCORES"));
    if (!z.is_error() && !z.elements.empty()) {
      redis::Command add = redis::cmd("ZADD", k.suppressed_index());
      for (std::size_t i = 0; i + 1 < z.elements.size(); i += 2) {
        add.argv.push_back(z.elements[i + 1].str);
        add.argv.push_back(z.elements[i].str);
      }
      now.push_back(std::move(add));
    }
    log_commands(db, hot_state_commands(k, now));
    check.generation = random_hex(16);
    db.exec("INSERT INTO hot_state_generation (id, value) VALUES (1, $1) ON CONFLICT DO NOTHING",
            {check.generation});
    // Two processes starting together: the one generation that was written wins.
    check.generation =
        *db.exec("SELECT value FROM hot_state_generation WHERE id = 1").rows.at(0).at(0);
    auto set = r.run(redis::cmd("SET", generation_key(k), check.generation));
    if (set.is_error()) throw std::runtime_error("redis: " + set.str);
    return check;
  }
  check.generation = *gen.rows[0][0];
  auto has = r.run(redis::cmd("GET", generation_key(k)));
  if (has.is_error()) throw std::runtime_error("redis: " + has.str);
  if (has.is_string() && has.str == check.generation) return check;
  check.rebuilt = true;
  check.commands = rebuild_hot_state(db, r, k);
  return check;
}

}  // namespace dispatcher
