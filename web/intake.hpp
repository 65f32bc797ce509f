// POST /v1/messages (intake), DELETE /v1/messages/{id} (cancel) and GET /v1/messages/{id}
// (status): the pure parts, a body into messages or refusals and a cancel's reply into an
// answer, beside the thin handlers (intake.cpp).
#pragma once

#include <boost/beast/http/status.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/clock.hpp"
#include "dispatcher/runtime.hpp"
#include "model/keys.hpp"
#include "model/message.hpp"
#include "policy/policy.hpp"
#include "store/redis/reply.hpp"
#include "web/api_keys.hpp"
#include "web/router.hpp"

namespace dispatcher::web {

struct IntakeLimits {
  int json_depth = 32;
  std::size_t max_batch = 1000;  // messages per request
};

// One element's refusal: its index in the batch, the reason code the pipeline would record,
// and words for a person.
struct IntakeError {
  std::size_t index = 0;
  std::string reason, detail;
};

struct IntakeBatch {
  std::vector<Message> messages;
  std::vector<std::string> payloads;  // each element as it is queued (compact JSON)
};

struct IntakeRefusal {
  boost::beast::http::status status;  // 400: not valid; 403: not for this key or this recipient
  std::vector<IntakeError> errors;
  std::size_t batch_size = 1;  // messages in the request, as far as it could be read
};

// The body as a batch, all or nothing: one message or an array of 1 to max_batch. Not JSON,
// too deep, a bad batch size or any invalid element is a 400 naming each element; then any
// element this key may not send (another sender's) is a 403 naming each.
std::variant<IntakeBatch, IntakeRefusal> parse_intake(std::string_view body, const ApiKey& key,
                                                      const IntakeLimits& limits,
                                                      const MessageVocabulary& vocab);

// Why `key` may not send `m`, or empty when it may: the operator sends as anyone, a clinic only
// as itself. Whom it may reach is the policy's (recipient_refusal).
std::string forbidden_reason(const Message& m, const ApiKey& key);

// Step two: whom each message reaches, checked as the pipeline will check it when it is due.
// The commands (per message: the stored record and erasure marker of a subscriber, or the
// stored records at an inline contact's e-mail address and number), then the refusal they lead
// to, if any, each with the reason code the pipeline would record:
// - 400 invalid_message:unknown_subscriber, or a render error of the message's template with its
//   data (template_missing_variable:<v> …, dispatcher/template_values.hpp);
// - 403 subject_erased, or what the policy denies whatever the subject's state
//   (policy::Policy::never_permitted: a clinic's member without a relation, another clinic's
//   contact, a purpose a non-member may not get …).
std::vector<redis::Command> recipient_commands(const Keys& k, std::string_view secret,
                                               const IntakeBatch& batch);
std::optional<IntakeRefusal> recipient_refusal(const IntakeBatch& batch,
                                               const std::vector<redis::Reply>& replies,
                                               const Runtime& rt, TimePoint now);

// The refusal as an RFC 9457 problem document with "errors": [{"index", "reason", "detail"}].
nlohmann::json refusal_problem(const IntakeRefusal& refusal);

// The whole batch in one MULTI/EXEC, through the one enqueue path (dispatcher/enqueue.hpp).
// `ttl_ms`: how long an id's senders are remembered (the idempotency record's lifetime).
// `scheduled` is set per message: whether it waits in the schedule (send_at later than now).
std::vector<redis::Command> intake_commands(const Keys& k, const IntakeBatch& batch, TimePoint now,
                                            std::int64_t ttl_ms, std::vector<bool>& scheduled);

// The 202's body: per message {"index", "id", "state": "queued"|"scheduled", "decision":
// "when_due", "send_at"?}: accepted, and decided by the policy when it is due, not now.
nlohmann::json accepted_body(const IntakeBatch& batch, const std::vector<bool>& scheduled);

// Whose message a DELETE /v1/messages/{id} names: the key's own sender; the operator may name
// another with ?sender= (a clinic may not: "not yours" looks like "not there"). Empty: refused.
std::string cancel_sender(const ApiKey& key, const std::map<std::string, std::string>& query);

struct CancelAnswer {
  boost::beast::http::status status;
  nlohmann::json body;
};
// The cancel script's reply ([status, payload]) as the answer: 200 cancelled, 202 marked (it
// will not be delivered if still queued), else a 409 problem whose reason is the script's word
// (in_flight, already).
CancelAnswer cancel_answer(std::string_view id, const redis::Reply& reply);

void post_messages(const ExchangePtr& x);
void delete_message(const ExchangePtr& x);
// GET /v1/messages/{id}: the `status` verb's JSON (store/message_status.hpp), for the key's own
// messages only (the operator may name a sender with ?sender=); 404 for any other id.
void get_message(const ExchangePtr& x);

}  // namespace dispatcher::web
