// The audit log: one record per decision (and per subject request), per subject.
//
// Records carry ids, codes and times — never an address, phone number or token — so a
// subject's history can be shown and exported after erasure without holding contact data.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "config/clock.hpp"
#include "model/keys.hpp"
#include "store/redis/reply.hpp"

namespace dispatcher {

struct AuditRecord {
  TimePoint time;
  std::string event =
      "decision";  // decision | dead_letter | cancelled | consent | optout | optin | stop | erase …
  std::string message_id;
  std::string subject;
  std::string decision;  // send | defer | deny (for decisions)
  std::string channel;
  std::string reason;
  std::string until;  // RFC 3339 when deferred
  std::string sender, purpose, template_name, campaign;
  std::string provider, provider_message_id;
  int attempts = 0;
  nlohmann::json extra;  // event-specific fields (consent proof, request due date …)
};

nlohmann::json to_json(const AuditRecord& r);

// Appends to the subject's history stream (capped so one subject cannot grow without bound).
redis::Command audit_command(const Keys& k, const AuditRecord& r);

}  // namespace dispatcher
