#include "store/audit.hpp"

namespace dispatcher {

nlohmann::json to_json(const AuditRecord& r) {
  nlohmann::json j;
  j["time"] = format_rfc3339(r.time);
  j["event"] = r.event;
  auto put = [&](const char* name, const std::string& v) {
    if (!v.empty()) j[name] = v;
  };
  put("id", r.message_id);
  put("subject", r.subject);
  put("decision", r.decision);
  put("channel", r.channel);
  put("reason", r.reason);
  put("until", r.until);
  put("sender", r.sender);
  put("purpose", r.purpose);
  put("template", r.template_name);
  put("campaign", r.campaign);
  put("provider", r.provider);
  put("provider_message_id", r.provider_message_id);
  if (r.attempts > 0) j["attempts"] = r.attempts;
  if (r.extra.is_object())
    for (const auto& [k, v] : r.extra.items()) j[k] = v;
  return j;
}

redis::Command audit_command(const Keys& k, const AuditRecord& r) {
  return redis::cmd("XADD", k.history(r.subject), "MAXLEN", "~", "100000", "*", "r",
                    to_json(r).dump());
}

}  // namespace dispatcher
