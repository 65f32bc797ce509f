// Interim RFC 5322 writer for the outbox until the channels' MIME builder lands.
#pragma once

#include <string>

#include "channels/provider.hpp"

namespace dispatcher {
std::string render_eml(const channels::Envelope& e);
}
