#include "dispatcher/enqueue.hpp"

#include "dispatcher/scheduler.hpp"

namespace dispatcher {

bool enqueue_commands(const Keys& k, std::string_view sender, std::string_view id,
                      std::optional<TimePoint> send_at, std::string_view payload, TimePoint now,
                      std::int64_t ttl_ms, std::vector<redis::Command>& out) {
  const bool known = !sender.empty() && !id.empty();
  if (known) {
    out.push_back(redis::cmd("SADD", k.senders_of(id), std::string(sender)));
    out.push_back(redis::cmd("PEXPIRE", k.senders_of(id), std::to_string(ttl_ms)));
  }
  if (send_at && *send_at > now && known) {
    for (auto& c : schedule_commands(k, message_key(sender, id), payload, *send_at))
      out.push_back(std::move(c));
    return true;
  }
  out.push_back(redis::cmd("XADD", k.stream(), "*", "payload", std::string(payload)));
  return false;
}

}  // namespace dispatcher
