// Builds the provider for each channel from config's `channels:` section (channels/registry.hpp);
// a channel the section does not name — or no section at all — uses the outbox.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "channels/curl/multi.hpp"
#include "dispatcher/consumer.hpp"
#include "dispatcher/runtime.hpp"

namespace dispatcher {

// Throws config::LoadError naming the position and key of every bad provider entry.
ProviderSet build_providers(boost::asio::io_context& io, const Runtime& rt);

}  // namespace dispatcher
