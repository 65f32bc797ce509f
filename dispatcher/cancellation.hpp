// A cancellation's place in the system of record: `cancel` (CLI) and DELETE /v1/messages/{id}
// write the audit row of a message they took from the scheduled set; a consumer writes the row
// of one cancelled while it waited in the stream, when it meets the entry. Either row is the
// message's `cancelled` state and, for a sender with a webhook, its event.
#pragma once

#include <string_view>

#include "config/clock.hpp"
#include "dispatcher/runtime.hpp"
#include "model/message.hpp"
#include "store/audit.hpp"
#include "store/redis/reply.hpp"

namespace dispatcher {

// Whom a cancelled message was for, as far as its payload says without Redis: the subscriber
// id, or an inline contact's subject key.
std::string cancelled_subject(const Message& m, std::string_view secret);

// The audit record of a cancelled message (event "cancelled", reason "cancelled").
AuditRecord cancelled_record(const Message& m, std::string_view subject, TimePoint now);

// What a cancel_command reply asks the caller to write: the row of a message taken from the
// scheduled set (its payload read with the runtime's vocabulary), nothing otherwise.
AuditBatch cancel_audit(const Runtime& rt, const redis::Reply& reply, TimePoint now);

}  // namespace dispatcher
