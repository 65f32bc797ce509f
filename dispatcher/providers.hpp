// Builds the provider for each channel from config: the outbox when `channels:` is absent.
#pragma once

#include <boost/asio/io_context.hpp>

#include "dispatcher/consumer.hpp"
#include "dispatcher/runtime.hpp"

namespace dispatcher {

ProviderSet build_providers(boost::asio::io_context& io, const Runtime& rt);

}  // namespace dispatcher
