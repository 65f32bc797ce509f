// requests, requests add|complete|refuse: the subject requests (§4: 開示, 利用停止, 消去) in the
// system of record, with their due dates (store/requests.hpp).
#include <cstdio>
#include <memory>

#include "app/verbs.hpp"
#include "dispatcher/runtime.hpp"
#include "store/audit.hpp"
#include "store/requests.hpp"
#include "store/subject_requests.hpp"

namespace dispatcher::verbs {

namespace {

TimePoint time_arg(const std::string& t, const char* what) {
  if (t.empty()) return system_now();
  auto parsed = parse_rfc3339(t);
  if (!parsed) throw std::runtime_error(std::string(what) + " is not an RFC 3339 timestamp: " + t);
  return *parsed;
}

int list(const Common& common, bool all, bool overdue, const std::string& now_arg) {
  Runtime rt = open_runtime(common.config_file, Needs{false, false});
  auto db = rt.database();
  const auto items = request_listing(db.exec(list_requests_sql(), {all ? "all" : "open"}),
                                     time_arg(now_arg, "--now"));
  std::size_t shown = 0;
  for (const auto& j : items) {
    if (overdue && !j.value("overdue", false)) continue;
    std::printf("%s\n", j.dump().c_str());
    ++shown;
  }
  if (shown == 0)
    std::fprintf(stderr, overdue ? "no overdue subject requests\n"
                         : all   ? "no subject requests\n"
                                 : "no open subject requests\n");
  return 0;
}

// One audit row beside the request, so that `history` (開示) shows the request too.
AuditRecord request_event(const nlohmann::json& request, std::string_view event, TimePoint now) {
  AuditRecord a;
  a.time = now;
  a.event = std::string(event);
  a.subject = request.value("subject", "");
  a.extra = {{"request", request.value("id", "")},
             {"kind", request.value("kind", "")},
             {"recorded_by", operator_name()}};
  for (const char* k : {"received", "due", "via", "note", "reason"})
    if (request.contains(k)) a.extra[k] = request[k];
  return a;
}

int add(const Common& common, const std::string& subject, const std::string& kind,
        const std::string& received, const std::string& via) {
  if (!valid_request_kind(kind))
    throw std::runtime_error("requests add: the kind must be disclosure, stop or erase, not \"" +
                             kind + "\"");
  Runtime rt = open_runtime(common.config_file, Needs{false, false});
  auto named = normalize_subject(subject, rt.config.phone_region);
  if (auto* inv = std::get_if<Invalid>(&named))
    throw std::runtime_error(inv->reason + ": " + inv->detail);
  const SubjectRef ref = resolve_subject(std::get<std::string>(named), rt.secret);
  const TimePoint now = system_now();
  SubjectChange change;
  change.requests.push_back(request_json(new_request_id(now), ref.key, kind, "open",
                                         time_arg(received, "--received"), via, operator_name()));
  change.audit.push_back(request_event(change.requests.back(), "request", now));
  auto db = rt.database();
  db.exec(AuditBatch::insert_sql(), {change.audit_batch(rt.keys, now).param()});
  std::printf("%s\n", change.requests.back().dump().c_str());
  return 0;
}

int close(const Common& common, const std::string& id, const std::string& state,
          const std::string& words) {
  Runtime rt = open_runtime(common.config_file, Needs{false, false});
  auto db = rt.database();
  const TimePoint now = system_now();
  auto rows = db.exec(close_request_sql(), {id, state, format_rfc3339(now), words});
  if (rows.rows.empty() || !rows.rows[0][0]) {
    auto was = db.exec(request_state_sql(), {id});
    if (was.rows.empty())
      std::fprintf(stderr, "dispatcher: no subject request %s\n", id.c_str());
    else
      std::fprintf(stderr, "dispatcher: request %s is already %s\n", id.c_str(),
                   was.rows[0][0].value_or("?").c_str());
    return 1;
  }
  const auto request = nlohmann::json::parse(*rows.rows[0][0]);
  AuditBatch batch;
  batch.add(request_event(request, "request_" + state, now));
  db.exec(AuditBatch::insert_sql(), {batch.param()});
  std::printf("%s\n", request.dump().c_str());
  return 0;
}

}  // namespace

void add_request_verbs(CLI::App& app, const Common& common, Verbs& out) {
  auto* req = app.add_subcommand(
      "requests",
      "subject requests (開示 disclosure, 利用停止 stop, 消去 erase) with their due dates: open "
      "ones, overdue first\n  example: dispatcher requests --overdue");
  auto all = std::make_shared<bool>(false), overdue = std::make_shared<bool>(false);
  auto now = std::make_shared<std::string>();

  auto* add_cmd = req->add_subcommand(
      "add",
      "record a request that came by phone, letter or at the desk (open until done)\n"
      "  example: dispatcher requests add m-1001 disclosure --via letter");
  auto subject = std::make_shared<std::string>(), kind = std::make_shared<std::string>();
  auto received = std::make_shared<std::string>(), via = std::make_shared<std::string>("cli");
  add_cmd->add_option("subject", *subject, "subscriber id, e-mail or phone number")->required();
  add_cmd->add_option("kind", *kind, "disclosure, stop or erase")->required();
  add_cmd->add_option("--received", *received, "when it arrived (RFC 3339; default: now)");
  add_cmd->add_option("--via", *via, "how it arrived (phone, letter, desk …)");
  out.push_back({add_cmd, [&common, subject, kind, received, via] {
                   return add(common, *subject, *kind, *received, *via);
                 }});

  auto* complete = req->add_subcommand(
      "complete",
      "close a request as done\n  example: dispatcher requests complete req-… --note "
      "\"sent by post\"");
  auto cid = std::make_shared<std::string>(), note = std::make_shared<std::string>();
  complete->add_option("id", *cid, "the request id")->required();
  complete->add_option("--note", *note, "what was done");
  out.push_back(
      {complete, [&common, cid, note] { return close(common, *cid, "completed", *note); }});

  auto* refuse = req->add_subcommand(
      "refuse",
      "close a request as refused, with the reason\n  example: dispatcher requests "
      "refuse req-… --reason \"identity not confirmed\"");
  auto rid = std::make_shared<std::string>(), reason = std::make_shared<std::string>();
  refuse->add_option("id", *rid, "the request id")->required();
  refuse->add_option("--reason", *reason, "why (told to the person)")->required();
  out.push_back(
      {refuse, [&common, rid, reason] { return close(common, *rid, "refused", *reason); }});

  req->add_flag("--all", *all, "also list closed requests");
  req->add_flag("--overdue", *overdue, "only open requests past their due date");
  req->add_option("--now", *now, "judge overdue at this RFC 3339 time (rehearsals and tests)");
  out.push_back({req, [&common, all, overdue, now] { return list(common, *all, *overdue, *now); }});
}

}  // namespace dispatcher::verbs
