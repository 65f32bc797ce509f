#include "web/subjects.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "model/message.hpp"
#include "store/audit.hpp"
#include "store/subject_store.hpp"
#include "web/exchange.hpp"
#include "web/services.hpp"
#include "web/text.hpp"

namespace dispatcher::web {

using json = nlohmann::json;
using redis::cmd;
using redis::Reply;
namespace http = boost::beast::http;

std::string_view to_string(SubjectAction a) noexcept {
  switch (a) {
    case SubjectAction::history:
      return "history";
    case SubjectAction::optout:
      return "optout";
    case SubjectAction::optin:
      return "optin";
    case SubjectAction::stop:
      return "stop";
    case SubjectAction::erase:
      return "erase";
  }
  return "?";
}

std::string_view request_kind(SubjectAction a) noexcept {
  return a == SubjectAction::history ? "disclosure" : to_string(a);
}

std::string_view done_status(SubjectAction a) noexcept {
  switch (a) {
    case SubjectAction::stop:
      return "stopped";
    case SubjectAction::optout:
      return "opted_out";
    case SubjectAction::optin:
      return "opted_in";
    case SubjectAction::erase:
      return "erased";
    case SubjectAction::history:
      break;
  }
  return "done";
}

std::optional<std::string> subject_problem(std::string_view subject, const SubjectRef& ref) {
  const bool printable =
      std::all_of(subject.begin(), subject.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; });
  if (subject.empty() || subject.size() > 320 || !printable) return "bad subject";
  if (!ref.address_hash.empty() && !(valid_email(subject) || valid_e164(subject)))
    return "not an e-mail address or E.164 number";
  return std::nullopt;
}

std::variant<SubjectBody, std::string> parse_subject_body(SubjectAction a, std::string_view body,
                                                          int json_depth_limit,
                                                          const policy::Policy& policy) {
  SubjectBody change;
  if (a == SubjectAction::history || a == SubjectAction::erase) return change;
  json j = json::object();
  if (!body.empty()) {
    if (json_too_deep(body, json_depth_limit)) return std::string("too deep");
    j = json::parse(body, nullptr, false);
    if (!j.is_object()) return std::string("expected a JSON object");
  }
  if (a == SubjectAction::stop) {
    if (j.contains("purpose")) {
      if (!j["purpose"].is_string()) return std::string("purpose must be a string");
      change.purpose = j["purpose"];
      if (!policy.known_purpose(change.purpose)) return std::string("unknown purpose");
    }
    return change;
  }
  if (!j.contains("scope") || !j["scope"].is_string()) return std::string("scope required");
  change.scope = j["scope"];
  std::string why;
  if (!valid_scope(change.scope, why)) return why;
  if (change.scope.rfind("purpose:", 0) == 0 && !policy.known_purpose(change.scope.substr(8)))
    return std::string("unknown purpose");
  return change;
}

SubjectChange change_of(const Keys& k, const SubjectRef& ref, SubjectAction a,
                        const SubjectBody& body, std::string_view by, TimePoint now) {
  switch (a) {
    case SubjectAction::optout:
    case SubjectAction::optin:
      return optout_change(k, ref, body.scope, a == SubjectAction::optout, by, now);
    case SubjectAction::stop:
      return stop_change(k, ref, body.purpose, by, now);
    case SubjectAction::history:
    case SubjectAction::erase:
      break;
  }
  return {};
}

// ---- the handlers ----

namespace {

void unavailable(const ExchangePtr& x) {
  x->error(http::status::service_unavailable, "unavailable, please retry");
}

void subject_request(const ExchangePtr& x, SubjectAction action) {
  const Services& s = x->services();
  auto key = x->api_key();
  if (!key) return x->error(http::status::unauthorized, "missing or unknown API key");
  if (!key->is_operator())
    return x->error(http::status::forbidden, "subject requests need the operator's key");
  // Path segments decode %XX only: a '+' stays a '+', as in E.164 numbers. A number written as
  // people write it ("090-1234-5678", full-width) names the subject its E.164 form names.
  auto named =
      normalize_subject(path_decode(x->param(0)).value_or(std::string{}), s.rt.config.phone_region);
  if (auto* inv = std::get_if<Invalid>(&named))
    return x->error(http::status::bad_request, inv->reason + ": " + inv->detail);
  const std::string& subject = std::get<std::string>(named);
  const SubjectRef ref = resolve_subject(subject, s.rt.secret);
  if (auto why = subject_problem(subject, ref)) return x->error(http::status::bad_request, *why);
  auto parsed = parse_subject_body(action, x->body(), s.options.json_depth_limit, s.policy);
  if (auto* why = std::get_if<std::string>(&parsed))
    return x->error(http::status::bad_request, *why);
  const SubjectBody& body = std::get<SubjectBody>(parsed);

  const TimePoint now = s.now();
  const std::string by = "api:" + key->sender;
  // The request the change carries out, recorded with it (store/requests.hpp); opt-outs and
  // opt-ins are no §4 request.
  auto finish = [x, action](const SubjectChange& change, json reply) {
    if (!change.requests.empty()) {
      x->services().metrics.inc("dispatcher_subject_requests_total",
                                {{"kind", std::string(request_kind(action))}});
      reply["request"] = change.requests.front()["id"];
    }
    x->json_reply(http::status::ok, reply);
  };

  if (action == SubjectAction::history) {
    // The disclosure reads the system of record; the request is recorded once it is answered.
    x->db(history_sql(), {ref.key}, [x, finish, ref, by, now](std::error_code ec, pg::Rows rows) {
      if (ec) return unavailable(x);
      SubjectChange change;
      change.requests.push_back(completed_request(ref, "disclosure", by, now));
      auto history = std::make_shared<json>(history_of(rows));
      x->apply(change, [x, finish, change, history](std::error_code ec, std::vector<Reply>) {
        if (ec) return unavailable(x);
        finish(change, {{"history", std::move(*history)}});
      });
    });
    return;
  }
  if (action == SubjectAction::erase) {
    // Erasure marks every address the stored record had: read it first.
    x->redis({cmd("HGETALL", s.rt.keys.subscriber(ref.key))},
             [x, ref, by, now, finish](std::error_code ec, std::vector<Reply> r) {
               if (ec) return unavailable(x);
               auto change = erase_change(x->services().rt.keys, ref, r[0], by, now);
               x->apply(change, [x, finish, change](std::error_code ec, std::vector<Reply>) {
                 if (ec) return unavailable(x);
                 finish(change, {{"status", done_status(SubjectAction::erase)}});
               });
             });
    return;
  }
  auto change = change_of(s.rt.keys, ref, action, body, by, now);
  x->apply(change, [x, finish, action, change](std::error_code ec, std::vector<Reply>) {
    if (ec) return unavailable(x);
    finish(change, {{"status", done_status(action)}});
  });
}

}  // namespace

void get_subject_history(const ExchangePtr& x) { subject_request(x, SubjectAction::history); }
void post_subject_optout(const ExchangePtr& x) { subject_request(x, SubjectAction::optout); }
void post_subject_optin(const ExchangePtr& x) { subject_request(x, SubjectAction::optin); }
void post_subject_stop(const ExchangePtr& x) { subject_request(x, SubjectAction::stop); }
void post_subject_erase(const ExchangePtr& x) { subject_request(x, SubjectAction::erase); }

}  // namespace dispatcher::web
