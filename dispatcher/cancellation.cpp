#include "dispatcher/cancellation.hpp"

#include <variant>

namespace dispatcher {

std::string cancelled_subject(const Message& m, std::string_view secret) {
  if (const auto* id = std::get_if<std::string>(&m.to)) return *id;
  return inline_subject_key(std::get<InlineRecipient>(m.to).contact, secret);
}

AuditRecord cancelled_record(const Message& m, std::string_view subject, TimePoint now) {
  AuditRecord a;
  a.time = now;
  a.event = "cancelled";
  a.reason = "cancelled";
  a.subject = subject;
  a.message_id = m.id;
  a.sender = m.sender;
  a.purpose = m.purpose;
  a.template_name = m.template_name;
  a.campaign = m.campaign;
  return a;
}

AuditBatch cancel_audit(const Runtime& rt, const redis::Reply& reply, TimePoint now) {
  AuditBatch batch;
  if (reply.elements.size() < 2 || reply.elements[0].str != "cancelled") return batch;
  auto parsed = parse_message(reply.elements[1].str, rt.vocabulary());
  if (const auto* m = std::get_if<Message>(&parsed))
    batch.add(cancelled_record(*m, cancelled_subject(*m, rt.secret), now), {},
              rt.webhooks.contains(m->sender));
  return batch;
}

}  // namespace dispatcher
