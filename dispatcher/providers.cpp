#include "dispatcher/providers.hpp"

#include "channels/outbox.hpp"
#include "dispatcher/eml.hpp"

namespace dispatcher {

ProviderSet build_providers(boost::asio::io_context& io, const Runtime& rt) {
  ProviderSet set;
  const auto outbox_dir = rt.config.data_dir / "outbox";
  for (Channel c : all_channels)
    set.by_channel[index(c)] =
        std::make_unique<channels::OutboxProvider>("outbox", outbox_dir, c, [](const channels::Envelope& e) { return render_eml(e); });
  return set;
}

}  // namespace dispatcher
