#include "dispatcher/providers.hpp"

#include <openssl/sha.h>

#include "channels/email/mime.hpp"
#include "channels/outbox.hpp"

namespace dispatcher {

namespace {

// The Message-ID's left part: derived from the message id, so a redelivered message writes
// the very same file, and opaque, so the id (which may carry a clinic's numbering) is not shown.
std::string unique_part(std::string_view id) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), digest);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) out += {hex[digest[i] >> 4], hex[digest[i] & 15]};
  return out;
}

}  // namespace

ProviderSet build_providers(boost::asio::io_context& io, const Runtime& rt) {
  ProviderSet set;
  const auto outbox_dir = rt.config.data_dir / "outbox";
  const std::string from = rt.config.email_from;
  const std::string domain = from.substr(from.find('@') + 1);
  auto eml = [domain](const channels::Envelope& e) {
    channels::email::Mail m{e.from_name, e.from_address, e.to,         e.subject,           e.text,
                            e.html,      e.marketing,    e.unsubscribe_url, e.unsubscribe_mailto};
    // Japan's offset for the Date header: the outbox is the embedded default for a Japanese service.
    return channels::email::build_message(m, e.created, 9 * 60, unique_part(e.message_id), domain).data;
  };
  for (Channel c : all_channels)
    set.by_channel[index(c)] = std::make_unique<channels::OutboxProvider>("outbox", outbox_dir, c, eml);
  return set;
}

}  // namespace dispatcher
