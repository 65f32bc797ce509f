#include "dispatcher/enqueue.hpp"

#include "dispatcher/scheduler.hpp"

namespace dispatcher {

bool enqueue_commands(const Keys& k, std::string_view id, std::optional<TimePoint> send_at,
                      std::string_view payload, TimePoint now, std::vector<redis::Command>& out) {
  if (send_at && *send_at > now && !id.empty()) {
    for (auto& c : schedule_commands(k, id, payload, *send_at)) out.push_back(std::move(c));
    return true;
  }
  out.push_back(redis::cmd("XADD", k.stream(), "*", "payload", std::string(payload)));
  return false;
}

}  // namespace dispatcher
