#include "dispatcher/webhook_targets.hpp"

#include "model/message.hpp"

namespace dispatcher {

WebhookTargets read_webhook_targets(const config::Located& senders, const channels::EnvFn& env) {
  WebhookTargets out;
  const YAML::Node& node = senders.node;
  if (!node.IsDefined() || node.IsNull()) return out;
  config::Errors errors(senders.file);
  for (const auto& kv : node) {
    const std::string sender = kv.first.Scalar();
    const std::string path = "webhooks.senders." + sender;
    if (!valid_sender(sender)) {
      errors.add(config::mark_of(kv.first), path,
                 "not a sender (operator, clinic:<id> or group:<id>)");
      continue;
    }
    try {
      channels::EntryReader entry(kv.second, path, senders.file, env);
      WebhookTarget t;
      t.url = entry.url("url");
      t.secret = entry.secret("secret");
      entry.finish();
      out.emplace(sender, std::move(t));
    } catch (const config::LoadError& e) {
      for (const auto& p : e.problems()) errors.add(p);
    }
  }
  errors.raise_if_any();
  return out;
}

}  // namespace dispatcher
