// /v1/subjects/{subject}/… (operator only): the history export (開示) and the requests that
// change a subject's state (opt-out, opt-in, stop 利用停止, erase 消去), each recorded with its
// due date. The pure parts, the subject and body checks, the request record and the history
// export, beside the thin handlers (subjects.cpp).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/clock.hpp"
#include "model/keys.hpp"
#include "policy/policy.hpp"
#include "store/redis/reply.hpp"
#include "store/subject_requests.hpp"
#include "web/router.hpp"

namespace dispatcher::web {

enum class SubjectAction { history, optout, optin, stop, erase };
std::string_view to_string(SubjectAction a) noexcept;  // the route's last segment
// How the request is recorded: disclosure for history, else the action's name.
std::string_view request_kind(SubjectAction a) noexcept;

// Why a subject named in the path (percent-decoded, then normalize_subject: a written phone
// number is E.164 by now) is refused, or nullopt: printable, at most 320 bytes, and when it
// names an address (`ref` has an address hash) a real e-mail address or E.164 number.
std::optional<std::string> subject_problem(std::string_view subject, const SubjectRef& ref);

// What the body of an optout/optin ({"scope"}) or stop ({"purpose"?}) request asks for.
// History and erase take no body.
struct SubjectBody {
  std::string scope;    // optout, optin: all, channel:<c>, purpose:<p>, sender:<s>
  std::string purpose;  // stop: empty for every purpose
};
// The change, or why the body is refused (the words of a 400).
std::variant<SubjectBody, std::string> parse_subject_body(SubjectAction a, std::string_view body,
                                                          int json_depth_limit,
                                                          const policy::Policy& policy);

// What an optout, optin or stop writes (erase needs the stored record first: see
// erase_change; history changes nothing).
SubjectChange change_of(const Keys& k, const SubjectRef& ref, SubjectAction a,
                        const SubjectBody& body, std::string_view by, TimePoint now);

// The "status" of a done request: stopped, opted_out, opted_in, erased.
std::string_view done_status(SubjectAction a) noexcept;

void get_subject_history(const ExchangePtr& x);
void post_subject_optout(const ExchangePtr& x);
void post_subject_optin(const ExchangePtr& x);
void post_subject_stop(const ExchangePtr& x);
void post_subject_erase(const ExchangePtr& x);

}  // namespace dispatcher::web
