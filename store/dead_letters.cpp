#include "store/dead_letters.hpp"

#include <string>

namespace dispatcher {

redis::Command dead_letter_command(const Keys& k, std::string_view reason, std::string_view detail,
                                   std::string_view id, std::string_view payload, TimePoint now) {
  return redis::cmd("XADD", k.dead(), "MAXLEN", "~", "1000000", "*", "reason", std::string(reason),
                    "detail", std::string(detail), "id", std::string(id), "payload",
                    std::string(payload), "time", format_rfc3339(now));
}

}  // namespace dispatcher
