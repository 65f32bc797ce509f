#include "store/history_import.hpp"

#include <nlohmann/json.hpp>

#include "store/audit.hpp"
#include "store/redis/scan.hpp"
#include "store/requests.hpp"

namespace dispatcher {

HistoryImported import_redis_history(pg::Connection& db, redis::SyncClient& r,
                                     const std::string& key_prefix) {
  HistoryImported done;
  redis::for_each_key(r, key_prefix + "hist:*", [&](const std::string& key) {
    if (r.run(redis::cmd("TYPE", key)).str != "stream") return;
    std::string from = "-";
    for (int pages = 0; pages < 1'000'000; ++pages) {
      auto entries = r.run(redis::cmd("XRANGE", key, from, "+", "COUNT", "1000"));
      if (entries.is_error()) throw std::runtime_error("redis: " + entries.str);
      AuditBatch batch;
      for (const auto& e : entries.elements) {
        const auto& fields = e.elements.at(1).elements;
        for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
          if (fields[i].str != "r") continue;
          auto record = nlohmann::json::parse(fields[i + 1].str, nullptr, false);
          if (!record.is_object() || !record.contains("time") || !record.contains("event")) {
            ++done.unreadable;
            continue;
          }
          batch.add_json(record, key + " " + e.elements.at(0).str);
        }
      }
      if (!batch.empty()) db.exec(AuditBatch::insert_sql(), {batch.param()});
      done.records += static_cast<long long>(batch.size());
      if (entries.elements.size() < 1000) break;
      from = "(" + entries.elements.back().elements.at(0).str;
    }
    r.run(redis::cmd("DEL", key));  // only once every record of it is in
    ++done.streams;
  });
  // The older requests hash: {"id","kind","subject","received","due","status","completed","by"}.
  const std::string requests = key_prefix + "requests";
  auto hash = r.run(redis::cmd("HGETALL", requests));
  if (hash.is_error()) throw std::runtime_error("redis: " + hash.str);
  AuditBatch batch;
  for (std::size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
    auto old = nlohmann::json::parse(hash.elements[i + 1].str, nullptr, false);
    const auto received = old.is_object() ? parse_rfc3339(old.value("received", "")) : std::nullopt;
    if (!received || !valid_request_kind(old.value("kind", ""))) {
      ++done.unreadable;
      continue;
    }
    const std::string by = old.value("by", "");
    auto q = request_json(old.value("id", hash.elements[i].str), old.value("subject", ""),
                          old.value("kind", ""), old.value("status", "open"), *received,
                          by.rfind("api:", 0) == 0 ? "api" : "cli", by);
    if (old.contains("completed")) q["closed"] = old["completed"];
    batch.add_request(q);
  }
  if (!batch.empty()) {
    db.exec(AuditBatch::insert_sql(), {batch.param()});
    done.requests = static_cast<long long>(batch.size());
  }
  if (!hash.elements.empty()) r.run(redis::cmd("DEL", requests));
  return done;
}

}  // namespace dispatcher
