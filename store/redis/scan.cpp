#include "store/redis/scan.hpp"

#include <stdexcept>

namespace dispatcher::redis {

void for_each_key(SyncClient& r, const std::string& pattern,
                  const std::function<void(const std::string& key)>& f) {
  std::string cursor = "0";
  for (int scans = 0; scans < 10'000'000; ++scans) {  // bounded: SCAN ends when cursor is 0
    auto page = r.run(cmd("SCAN", cursor, "MATCH", pattern, "COUNT", "1000"));
    if (page.is_error()) throw std::runtime_error("redis: " + page.str);
    cursor = page.elements.at(0).str;
    for (const auto& key : page.elements.at(1).elements) f(key.str);
    if (cursor == "0") return;
  }
}

}  // namespace dispatcher::redis
