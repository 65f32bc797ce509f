// The dead-letter stream: where a message that cannot be delivered goes, with its reason, a
// detail and the original payload, so nothing is silently dropped and an operator can look,
// correct and re-drive.
#pragma once

#include <string_view>

#include "config/clock.hpp"
#include "model/keys.hpp"
#include "store/redis/reply.hpp"

namespace dispatcher {

// `id` may be empty (a payload that never parsed); the stream is capped near a million entries.
redis::Command dead_letter_command(const Keys& k, std::string_view reason, std::string_view detail,
                                   std::string_view id, std::string_view payload, TimePoint now);

}  // namespace dispatcher
