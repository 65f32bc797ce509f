// Logging: spdlog to stderr, one line per event, every line passed through a filter by the sink
// itself (the masker of personal data, codec/mask.hpp, handed in by app/), so no call site can
// leak an address by mistake.
#pragma once

#include <string>
#include <string_view>

namespace dispatcher {

using LineFilter = std::string (*)(std::string_view line);

void setup_logging(const std::string& level, LineFilter mask);

}  // namespace dispatcher
