#include "web/intake.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "dispatcher/enqueue.hpp"
#include "dispatcher/scheduler.hpp"
#include "store/subject_store.hpp"
#include "web/exchange.hpp"
#include "web/services.hpp"
#include "web/text.hpp"

namespace dispatcher::web {

using json = nlohmann::json;
using redis::cmd;
using redis::Reply;
namespace http = boost::beast::http;

namespace {

IntakeRefusal whole_body(std::string reason, std::string detail) {
  return {http::status::bad_request, {{0, std::move(reason), std::move(detail)}}};
}

// "reservation or support": what the policy lets `sender` message a member for.
std::string member_purposes(const policy::Policy& p, std::string_view sender) {
  std::vector<std::string_view> allowed;
  for (std::string_view purpose : p.purposes())
    if (p.may_message_member(sender, purpose)) allowed.push_back(purpose);
  std::string out;
  for (std::size_t i = 0; i < allowed.size(); ++i)
    out.append(i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ").append(allowed[i]);
  return out.empty() ? "no purpose" : out;
}

}  // namespace

std::string forbidden_reason(const Message& m, const ApiKey& key, const policy::Policy& policy) {
  if (key.is_operator()) return {};
  if (m.sender != key.sender) return "this key sends only as " + key.sender;
  if (auto* in = std::get_if<InlineRecipient>(&m.to); in && in->clinic != key.clinic())
    return "a clinic may address only its own contacts";
  if (std::holds_alternative<std::string>(m.to) && !policy.may_message_member(m.sender, m.purpose))
    return "a clinic may message members only for " + member_purposes(policy, m.sender);
  return {};
}

std::variant<IntakeBatch, IntakeRefusal> parse_intake(std::string_view body, const ApiKey& key,
                                                      const IntakeLimits& limits,
                                                      const MessageVocabulary& vocab,
                                                      const policy::Policy& policy) {
  if (json_too_deep(body, limits.json_depth))
    return whole_body("invalid_message:too_deep",
                      fmt::format("JSON nests deeper than {}", limits.json_depth));
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return whole_body("invalid_message:bad_json", "the body is not JSON");
  if (!doc.is_array()) doc = json::array({std::move(doc)});
  if (doc.empty() || doc.size() > limits.max_batch)
    return whole_body("invalid_message:batch_size",
                      fmt::format("send 1 to {} messages", limits.max_batch));
  IntakeBatch batch;
  std::vector<IntakeError> invalid, forbidden;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    auto parsed = parse_message_json(doc[i], vocab);
    if (auto* inv = std::get_if<Invalid>(&parsed)) {
      invalid.push_back({i, inv->reason, inv->detail});
      continue;
    }
    Message& m = std::get<Message>(parsed);
    if (std::string why = forbidden_reason(m, key, policy); !why.empty())
      forbidden.push_back({i, "forbidden", std::move(why)});
    batch.payloads.push_back(doc[i].dump());
    batch.messages.push_back(std::move(m));
  }
  if (!invalid.empty()) return IntakeRefusal{http::status::bad_request, std::move(invalid)};
  if (!forbidden.empty()) return IntakeRefusal{http::status::forbidden, std::move(forbidden)};
  return batch;
}

json errors_body(const std::vector<IntakeError>& errors) {
  json list = json::array();
  for (const auto& e : errors)
    list.push_back({{"index", e.index}, {"reason", e.reason}, {"detail", e.detail}});
  return {{"errors", std::move(list)}};
}

std::vector<redis::Command> recipient_commands(const Keys& k, std::string_view secret,
                                               const IntakeBatch& batch) {
  std::vector<redis::Command> out;
  auto at = [&](const std::string& address) {
    return stored_at_command(k, address.empty() ? "-" : address_hash(address, secret));
  };
  for (const Message& m : batch.messages) {
    if (const auto* id = std::get_if<std::string>(&m.to)) {
      out.push_back(get_subscriber(k, *id));
      out.push_back(cmd("HGET", k.state(*id), "erased"));
    } else {
      const auto& c = std::get<InlineRecipient>(m.to).contact;
      out.push_back(at(c.email));
      out.push_back(at(c.phone));
    }
  }
  return out;
}

std::optional<IntakeRefusal> recipient_refusal(const IntakeBatch& batch,
                                               const std::vector<Reply>& replies,
                                               const policy::Policy& policy) {
  std::vector<IntakeError> unknown, forbidden;
  for (std::size_t i = 0; i < batch.messages.size() && 2 * i + 1 < replies.size(); ++i) {
    const Message& m = batch.messages[i];
    const Reply& first = replies[2 * i];
    const Reply& second = replies[2 * i + 1];
    std::optional<Subscriber> record = parse_subscriber_reply(first);
    if (std::holds_alternative<std::string>(m.to)) {
      if (!record && !second.is_string())  // neither stored nor erased (rule 3 answers erased)
        unknown.push_back({i, "invalid_message:unknown_subscriber", "no subscriber with this id"});
    } else if (!record) {
      record = parse_subscriber_reply(second);
    }
    if (!record) continue;
    if (std::string_view why = policy.relation_denial(m.sender, *record); !why.empty())
      forbidden.push_back({i, std::string(why),
                           why == "clinic_no_relation"
                               ? "the member has no relation with this clinic"
                               : "the contact is registered with another clinic"});
  }
  if (!unknown.empty()) return IntakeRefusal{http::status::bad_request, std::move(unknown)};
  if (!forbidden.empty()) return IntakeRefusal{http::status::forbidden, std::move(forbidden)};
  return std::nullopt;
}

std::vector<redis::Command> intake_commands(const Keys& k, const IntakeBatch& batch, TimePoint now,
                                            std::int64_t ttl_ms) {
  std::vector<redis::Command> cmds{cmd("MULTI")};
  for (std::size_t i = 0; i < batch.messages.size(); ++i) {
    const Message& m = batch.messages[i];
    enqueue_commands(k, m.sender, m.id, m.send_at, batch.payloads[i], now, ttl_ms, cmds);
  }
  cmds.push_back(cmd("EXEC"));
  return cmds;
}

std::string cancel_sender(const ApiKey& key, const std::map<std::string, std::string>& query) {
  auto it = query.find("sender");
  if (it == query.end()) return key.sender;
  if (!key.is_operator() || !valid_sender(it->second)) return {};
  return it->second;
}

CancelAnswer cancel_answer(std::string_view id, const Reply& reply) {
  const std::string status = reply.elements.empty() ? "" : reply.elements[0].str;
  if (status == "cancelled") return {http::status::ok, {{"id", id}, {"status", "cancelled"}}};
  if (status == "marked") return {http::status::accepted, {{"id", id}, {"status", "marked"}}};
  return {http::status::conflict, {{"id", id}, {"status", status.empty() ? "already" : status}}};
}

// ---- the handlers ----

namespace {

void enqueue_batch(const ExchangePtr& x, const std::shared_ptr<IntakeBatch>& batch) {
  Services& s = x->services();
  json ids = json::array();
  for (const Message& m : batch->messages) ids.push_back(m.id);
  const auto n = batch->messages.size();
  x->redis(
      intake_commands(s.rt.keys, *batch, s.now(),
                      s.rt.config.consumer.idempotency_ttl_days * 86400000LL),
      [x, ids = std::move(ids), n](std::error_code ec, std::vector<Reply> r) {
        if (ec || r.empty() || r.back().is_nil()) {
          spdlog::error("intake: {}", ec ? ec.message() : "the transaction was aborted");
          return x->error(http::status::service_unavailable,
                          "queue unavailable, nothing was accepted; retry later");
        }
        x->services().metrics.inc("dispatcher_intake_messages_total", {{"result", "accepted"}}, n);
        x->json_reply(http::status::accepted, {{"accepted", ids}});
      });
}

}  // namespace

void post_messages(const ExchangePtr& x) {
  Services& s = x->services();
  auto key = x->api_key();
  if (!key) return x->error(http::status::unauthorized, "missing or unknown API key");
  auto parsed = parse_intake(x->body(), *key, {s.options.json_depth_limit, s.options.max_batch},
                             s.rt.vocabulary(), s.policy);
  if (auto* refused = std::get_if<IntakeRefusal>(&parsed)) {
    s.metrics.inc("dispatcher_intake_messages_total", {{"result", "rejected"}});
    return x->json_reply(refused->status, errors_body(refused->errors));
  }
  auto batch = std::make_shared<IntakeBatch>(std::move(std::get<IntakeBatch>(parsed)));
  // The operator may message anyone the policy lets it; a clinic's recipients are checked now,
  // as the pipeline would, so a 202 never hides a message that will be denied for it.
  if (key->is_operator()) return enqueue_batch(x, batch);
  x->redis(recipient_commands(s.rt.keys, s.rt.secret, *batch),
           [x, batch](std::error_code ec, std::vector<Reply> r) {
             if (ec)
               return x->error(http::status::service_unavailable,
                               "queue unavailable, nothing was accepted; retry later");
             Services& s = x->services();
             if (auto refused = recipient_refusal(*batch, r, s.policy)) {
               s.metrics.inc("dispatcher_intake_messages_total", {{"result", "rejected"}});
               return x->json_reply(refused->status, errors_body(refused->errors));
             }
             enqueue_batch(x, batch);
           });
}

void delete_message(const ExchangePtr& x) {
  auto key = x->api_key();
  if (!key) return x->error(http::status::unauthorized, "missing or unknown API key");
  std::string id = path_decode(x->param(0)).value_or(std::string{});
  const std::string sender = cancel_sender(*key, x->query());
  if (id.empty() || id.size() > 200 || sender.empty())
    return x->error(http::status::not_found, "no such message");
  // Ids are the sender's own: another sender's id, like an id never seen, is not there, and
  // nothing is written for it.
  const Keys& k = x->services().rt.keys;
  x->redis({cmd("SISMEMBER", k.senders_of(id), sender)},
           [x, id, sender](std::error_code ec, std::vector<Reply> r) {
             if (ec) return x->error(http::status::service_unavailable, "queue unavailable");
             if (r[0].integer != 1) return x->error(http::status::not_found, "no such message");
             const Services& s = x->services();
             const std::int64_t ttl_ms = s.rt.config.consumer.idempotency_ttl_days * 86400000LL;
             x->redis({cancel_command(s.rt.keys, message_key(sender, id), ttl_ms)},
                      [x, id](std::error_code ec, std::vector<Reply> r) {
                        if (ec)
                          return x->error(http::status::service_unavailable, "queue unavailable");
                        auto answer = cancel_answer(id, r[0]);
                        x->json_reply(answer.status, answer.body);
                      });
           });
}

}  // namespace dispatcher::web
