#include "web/intake.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "dispatcher/enqueue.hpp"
#include "dispatcher/scheduler.hpp"
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

std::vector<redis::Command> intake_commands(const Keys& k, const IntakeBatch& batch,
                                            TimePoint now) {
  std::vector<redis::Command> cmds{cmd("MULTI")};
  for (std::size_t i = 0; i < batch.messages.size(); ++i) {
    const Message& m = batch.messages[i];
    enqueue_commands(k, m.id, m.send_at, batch.payloads[i], now, cmds);
  }
  cmds.push_back(cmd("EXEC"));
  return cmds;
}

bool sent_by(const Reply& payload, std::string_view sender) {
  if (payload.is_nil()) return false;
  auto j = json::parse(payload.str, nullptr, false);
  return j.is_object() && j.contains("sender") && j["sender"] == sender;
}

CancelAnswer cancel_answer(std::string_view id, const Reply& reply) {
  const std::string status = reply.elements.empty() ? "" : reply.elements[0].str;
  if (status == "cancelled") return {http::status::ok, {{"id", id}, {"status", "cancelled"}}};
  if (status == "marked") return {http::status::accepted, {{"id", id}, {"status", "marked"}}};
  return {http::status::conflict, {{"id", id}, {"status", status.empty() ? "already" : status}}};
}

// ---- the handlers ----

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
  const IntakeBatch& batch = std::get<IntakeBatch>(parsed);
  json ids = json::array();
  for (const Message& m : batch.messages) ids.push_back(m.id);
  const auto n = batch.messages.size();
  x->redis(
      intake_commands(s.rt.keys, batch, s.now()),
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

namespace {

void do_cancel(const ExchangePtr& x, std::string id) {
  const Services& s = x->services();
  const std::int64_t ttl_ms = s.rt.config.consumer.idempotency_ttl_days * 86400000LL;
  x->redis({cancel_command(s.rt.keys, id, ttl_ms)},
           [x, id](std::error_code ec, std::vector<Reply> r) {
             if (ec) return x->error(http::status::service_unavailable, "queue unavailable");
             auto answer = cancel_answer(id, r[0]);
             x->json_reply(answer.status, answer.body);
           });
}

}  // namespace

void delete_message(const ExchangePtr& x) {
  auto key = x->api_key();
  if (!key) return x->error(http::status::unauthorized, "missing or unknown API key");
  std::string id = path_decode(x->param(0)).value_or(std::string{});
  if (id.empty() || id.size() > 200)
    return x->error(http::status::not_found, "no such scheduled message");
  if (key->is_operator()) return do_cancel(x, std::move(id));
  x->redis({cmd("HGET", x->services().rt.keys.sched(id), "payload")},
           [x, id, sender = key->sender](std::error_code ec, std::vector<Reply> r) {
             if (ec) return x->error(http::status::service_unavailable, "queue unavailable");
             if (!sent_by(r[0], sender))
               return x->error(http::status::not_found, "no such scheduled message");
             do_cancel(x, id);
           });
}

}  // namespace dispatcher::web
