#include "web/intake.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "dispatcher/cancellation.hpp"
#include "dispatcher/enqueue.hpp"
#include "dispatcher/scheduler.hpp"
#include "dispatcher/template_values.hpp"
#include "store/message_status.hpp"
#include "store/subject_store.hpp"
#include "web/exchange.hpp"
#include "web/problem.hpp"
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

}  // namespace

std::string forbidden_reason(const Message& m, const ApiKey& key) {
  if (key.is_operator() || m.sender == key.sender) return {};
  return "this key sends only as " + key.sender;
}

std::variant<IntakeBatch, IntakeRefusal> parse_intake(std::string_view body, const ApiKey& key,
                                                      const IntakeLimits& limits,
                                                      const MessageVocabulary& vocab) {
  if (json_too_deep(body, limits.json_depth))
    return whole_body("invalid_message:too_deep",
                      fmt::format("JSON nests deeper than {}", limits.json_depth));
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return whole_body("invalid_message:not_json", "the body is not JSON");
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
    if (std::string why = forbidden_reason(m, key); !why.empty())
      forbidden.push_back({i, "forbidden", std::move(why)});
    batch.payloads.push_back(doc[i].dump());
    batch.messages.push_back(std::move(m));
  }
  if (!invalid.empty())
    return IntakeRefusal{http::status::bad_request, std::move(invalid), doc.size()};
  if (!forbidden.empty())
    return IntakeRefusal{http::status::forbidden, std::move(forbidden), doc.size()};
  return batch;
}

json refusal_problem(const IntakeRefusal& refusal) {
  const std::size_t batch_size = refusal.batch_size;
  json list = json::array();
  for (const auto& e : refusal.errors)
    list.push_back({{"index", e.index}, {"reason", e.reason}, {"detail", e.detail}});
  const std::size_t n = refusal.errors.size();
  return problem(refusal.status,
                 fmt::format("{} of {} message{} refused; nothing was accepted", n, batch_size,
                             batch_size == 1 ? "" : "s"),
                 refusal.errors.empty() ? std::string_view() : refusal.errors.front().reason,
                 std::move(list));
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
                                               const std::vector<Reply>& replies, const Runtime& rt,
                                               TimePoint now) {
  std::vector<IntakeError> invalid, forbidden;
  for (std::size_t i = 0; i < batch.messages.size() && 2 * i + 1 < replies.size(); ++i) {
    const Message& m = batch.messages[i];
    const Reply& first = replies[2 * i];
    const Reply& second = replies[2 * i + 1];
    // The recipient as the pipeline's first stage resolves it (Gate::resolve_apply): a stored
    // subscriber, else for an inline contact the stored record at its e-mail address or number,
    // else the contact itself as a non-member of the clinic it names.
    Subscriber recipient;
    if (std::holds_alternative<std::string>(m.to)) {
      std::optional<Subscriber> record = parse_subscriber_reply(first);
      if (!record) {
        if (second.is_string())  // erased: the record is gone, the marker stays (rule 3)
          forbidden.push_back({i, "subject_erased", "this subscriber asked to be erased"});
        else
          invalid.push_back(
              {i, "invalid_message:unknown_subscriber", "no subscriber with this id"});
        continue;
      }
      recipient = std::move(*record);
    } else if (auto stored = parse_subscriber_reply(first) ? parse_subscriber_reply(first)
                                                           : parse_subscriber_reply(second)) {
      recipient = std::move(*stored);
    } else {
      const auto& in = std::get<InlineRecipient>(m.to);
      recipient.member = false;
      recipient.clinic = in.clinic;
      recipient.source = in.source;
      recipient.contact = in.contact;
    }
    const templates::Template* tmpl =
        rt.catalog ? rt.catalog->find(m.template_name, render_locale(m, recipient)) : nullptr;
    const std::span<const std::string> categories =
        tmpl ? tmpl->categories() : std::span<const std::string>();
    // What the policy denies whatever the subject's state, decided when the message is due.
    if (std::string why =
            rt.policy->never_permitted(m, recipient, categories, m.send_at.value_or(now));
        !why.empty()) {
      forbidden.push_back(
          {i, std::move(why), "the policy never permits this message to this recipient"});
      continue;
    }
    if (!tmpl) continue;
    if (auto err = render_problem(rt, m, *tmpl, recipient, rt.policy->is_marketing(m.purpose)))
      invalid.push_back({i, err->reason, err->detail});
  }
  const std::size_t n = batch.messages.size();
  if (!invalid.empty()) return IntakeRefusal{http::status::bad_request, std::move(invalid), n};
  if (!forbidden.empty()) return IntakeRefusal{http::status::forbidden, std::move(forbidden), n};
  return std::nullopt;
}

std::vector<redis::Command> intake_commands(const Keys& k, const IntakeBatch& batch, TimePoint now,
                                            std::int64_t ttl_ms, std::vector<bool>& scheduled) {
  std::vector<redis::Command> cmds{cmd("MULTI")};
  scheduled.clear();
  for (std::size_t i = 0; i < batch.messages.size(); ++i) {
    const Message& m = batch.messages[i];
    scheduled.push_back(
        enqueue_commands(k, m.sender, m.id, m.send_at, batch.payloads[i], now, ttl_ms, cmds));
  }
  cmds.push_back(cmd("EXEC"));
  return cmds;
}

json accepted_body(const IntakeBatch& batch, const std::vector<bool>& scheduled) {
  json list = json::array();
  for (std::size_t i = 0; i < batch.messages.size(); ++i) {
    const Message& m = batch.messages[i];
    json one = {{"index", i},
                {"id", m.id},
                {"state", i < scheduled.size() && scheduled[i] ? "scheduled" : "queued"},
                {"decision", "when_due"}};
    if (m.send_at) one["send_at"] = format_rfc3339(*m.send_at, "Asia/Tokyo");
    list.push_back(std::move(one));
  }
  return {{"accepted", std::move(list)}};
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
  const std::string why = status.empty() ? "already" : status;
  return {http::status::conflict,
          problem(http::status::conflict,
                  why == "in_flight" ? "the message is being sent now; it cannot be cancelled"
                                     : "the message was already decided; it cannot be cancelled",
                  why)};
}

// ---- the handlers ----

namespace {

void enqueue_batch(const ExchangePtr& x, const std::shared_ptr<IntakeBatch>& batch) {
  Services& s = x->services();
  auto scheduled = std::make_shared<std::vector<bool>>();
  auto cmds = intake_commands(s.rt.keys, *batch, s.now(),
                              s.rt.config.consumer.idempotency_ttl_days * 86400000LL, *scheduled);
  x->redis(std::move(cmds), [x, batch, scheduled](std::error_code ec, std::vector<Reply> r) {
    if (ec || r.empty() || r.back().is_nil()) {
      spdlog::error("intake: {}", ec ? ec.message() : "the transaction was aborted");
      return x->error(http::status::service_unavailable,
                      "queue unavailable, nothing was accepted; retry later");
    }
    x->services().metrics.inc("dispatcher_intake_messages_total", {{"result", "accepted"}},
                              batch->messages.size());
    x->json_reply(http::status::accepted, accepted_body(*batch, *scheduled));
  });
}

void refuse(const ExchangePtr& x, const IntakeRefusal& refused) {
  x->services().metrics.inc("dispatcher_intake_messages_total", {{"result", "rejected"}});
  x->problem_reply(refusal_problem(refused));
}

}  // namespace

void post_messages(const ExchangePtr& x) {
  Services& s = x->services();
  auto key = x->api_key();
  if (!key) return x->error(http::status::unauthorized, "missing or unknown API key");
  auto parsed = parse_intake(x->body(), *key, {s.options.json_depth_limit, s.options.max_batch},
                             s.rt.vocabulary());
  if (auto* refused = std::get_if<IntakeRefusal>(&parsed)) return refuse(x, *refused);
  auto batch = std::make_shared<IntakeBatch>(std::move(std::get<IntakeBatch>(parsed)));
  // Every recipient is looked at now, as the pipeline will when the message is due, so a 202
  // never hides a message that is sure to be denied or dead-lettered.
  x->redis(recipient_commands(s.rt.keys, s.rt.secret, *batch),
           [x, batch](std::error_code ec, std::vector<Reply> r) {
             if (ec)
               return x->error(http::status::service_unavailable,
                               "queue unavailable, nothing was accepted; retry later");
             Services& s = x->services();
             if (auto refused = recipient_refusal(*batch, r, s.rt, s.now()))
               return refuse(x, *refused);
             enqueue_batch(x, batch);
           });
}

namespace {

// The message a /v1/messages/{id} request names, as (sender, id): the key's own sender, or the
// one an operator names with ?sender=. Answers 401 or 404 itself and returns nothing when there
// is none to look for.
std::optional<std::pair<std::string, std::string>> named_message(const ExchangePtr& x) {
  auto key = x->api_key();
  if (!key) {
    x->error(http::status::unauthorized, "missing or unknown API key");
    return std::nullopt;
  }
  std::string id = path_decode(x->param(0)).value_or(std::string{});
  std::string sender = cancel_sender(*key, x->query());
  if (id.empty() || id.size() > 200 || sender.empty()) {
    x->error(http::status::not_found, "no such message");
    return std::nullopt;
  }
  return std::make_pair(std::move(sender), std::move(id));
}

}  // namespace

void delete_message(const ExchangePtr& x) {
  auto named = named_message(x);
  if (!named) return;
  const auto& [sender, id] = *named;
  // Ids are the sender's own: another sender's id, like an id never seen, is not there, and
  // nothing is written for it.
  const Keys& k = x->services().rt.keys;
  x->redis({cmd("SISMEMBER", k.senders_of(id), sender)}, [x, id, sender](std::error_code ec,
                                                                         std::vector<Reply> r) {
    if (ec) return x->error(http::status::service_unavailable, "queue unavailable");
    if (r[0].integer != 1) return x->error(http::status::not_found, "no such message");
    const Services& s = x->services();
    const std::int64_t ttl_ms = s.rt.config.consumer.idempotency_ttl_days * 86400000LL;
    x->redis({cancel_command(s.rt.keys, message_key(sender, id), ttl_ms)},
             [x, id](std::error_code ec, std::vector<Reply> r) {
               if (ec) return x->error(http::status::service_unavailable, "queue unavailable");
               auto answer = cancel_answer(id, r[0]);
               if (answer.body.contains("type")) return x->problem_reply(answer.body);
               auto audit = cancel_audit(x->services().rt, r[0], x->services().now());
               if (audit.empty()) return x->json_reply(answer.status, answer.body);
               // Taken from the scheduled set: its row (and webhook event) is ours.
               x->db(AuditBatch::insert_sql(), {audit.param()},
                     [x, answer](std::error_code ec, pg::Rows) {
                       if (ec)
                         spdlog::error("cancel: the audit row was not written: {}", ec.message());
                       x->json_reply(answer.status, answer.body);
                     });
             });
  });
}

void get_message(const ExchangePtr& x) {
  auto named = named_message(x);
  if (!named) return;
  const auto& [sender, id] = *named;
  // The system of record first, then what the queue holds for a message not yet decided; a
  // message of another sender is not looked for at all.
  x->db(message_records_sql(), {sender, id}, [x, id, sender](std::error_code ec, pg::Rows rows) {
    if (ec) return x->error(http::status::service_unavailable, "database unavailable");
    auto records = std::make_shared<pg::Rows>(std::move(rows));
    x->redis(queue_status_commands(x->services().rt.keys, sender, id),
             [x, id, sender, records](std::error_code ec, std::vector<Reply> r) {
               if (ec) return x->error(http::status::service_unavailable, "queue unavailable");
               const auto s = status_of(sender, id, *records, r);
               if (!s) return x->error(http::status::not_found, "no such message");
               x->json_reply(http::status::ok, to_json(*s));
             });
  });
}

}  // namespace dispatcher::web
