// Where each sender's webhook events go (config `webhooks.senders`), with the secret that signs
// them: read at start-up, so a missing secret stops `run`, `serve` and `cancel` before they
// accept anything, and `check` names it.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "channels/config_reader.hpp"
#include "config/yaml_reader.hpp"

namespace dispatcher {

struct WebhookTarget {
  std::string url;     // https, or http to a loopback host (tests, a local relay)
  std::string secret;  // HMAC-SHA256 key of the Dispatcher-Signature header
};

using WebhookTargets = std::map<std::string, WebhookTarget, std::less<>>;

// Throws config::LoadError with every entry's mistake (file:line:col, the key).
WebhookTargets read_webhook_targets(const config::Located& senders,
                                    const channels::EnvFn& env = channels::system_env);

}  // namespace dispatcher
