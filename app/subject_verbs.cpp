// subscriber put, consent, optout, optin, stop, erase, history, suppression: the subject's
// records and what the subject asked for.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <optional>

#include "app/verbs.hpp"
#include "codec/mask.hpp"
#include "dispatcher/runtime.hpp"
#include "store/audit.hpp"
#include "store/consent_import.hpp"
#include "store/redis/sync_client.hpp"
#include "store/subject_requests.hpp"
#include "store/subject_store.hpp"

namespace dispatcher::verbs {

std::string operator_name() {
  const char* user = std::getenv("USER");
  return std::string("cli:") + (user && *user ? user : "operator");
}

namespace {

void exec_checked(redis::SyncClient& r, const std::vector<redis::Command>& cmds) {
  auto replies = r.exec(cmds);
  if (auto err = redis::first_error(cmds, replies); !err.empty())
    throw std::runtime_error("redis: " + err);
}

struct Session {
  explicit Session(const Common& c, bool policy = false)
      : rt(open_runtime(c.config_file, Needs{policy, false})),
        redis(redis::SyncClient::connect(rt.redis_endpoint())) {}
  Runtime rt;
  redis::SyncClient redis;
  // The system of record, opened (and migrated) by the verbs that read or write it.
  pg::Connection& db() {
    if (!db_) db_.emplace(rt.database());
    return *db_;
  }
  void apply(const SubjectChange& change) { apply_change(db(), redis, rt.keys, change); }

 private:
  std::optional<pg::Connection> db_;
};

// What a person named on the command line, with a written phone number read as E.164: the
// same key a message to that number uses.
std::string normalized(const Session& s, const std::string& name) {
  auto named = normalize_subject(name, s.rt.config.phone_region);
  if (auto* inv = std::get_if<Invalid>(&named))
    throw std::runtime_error(inv->reason + ": " + inv->detail);
  return std::get<std::string>(std::move(named));
}

SubjectRef subject_ref(const Session& s, const std::string& name) {
  return resolve_subject(normalized(s, name), s.rt.secret);
}

int subscriber_put(const Common& common, const std::string& file) {
  Session s(common);
  std::vector<redis::Command> pending;
  std::size_t stored = 0, bad = 0;
  std::string error;
  bool ok = for_each_line(
      file,
      [&](std::string_view line, std::size_t n) {
        auto parsed = parse_subscriber(line, s.rt.config.phone_region);
        if (auto* inv = std::get_if<Invalid>(&parsed)) {
          std::fprintf(stderr, "dispatcher: line %zu: %s: %s\n", n, inv->reason.c_str(),
                       inv->detail.c_str());
          ++bad;
          return;
        }
        auto cmds = put_subscriber(s.rt.keys, std::get<Subscriber>(parsed), s.rt.secret);
        pending.insert(pending.end(), cmds.begin(), cmds.end());
        ++stored;
        if (pending.size() >= 1000) {
          exec_checked(s.redis, pending);
          pending.clear();
        }
      },
      error);
  if (!pending.empty()) exec_checked(s.redis, pending);
  if (!ok) throw std::runtime_error(error);
  std::fprintf(
      stderr, "stored %zu subscriber%s%s\n", stored, stored == 1 ? "" : "s",
      bad ? fmt::format(", {} invalid line{} skipped", bad, bad == 1 ? "" : "s").c_str() : "");
  return bad ? 1 : 0;
}

int history(const Common& common, const std::string& subject) {
  Session s(common);
  SubjectRef ref = subject_ref(s, subject);
  // The stored text is the JSON line: printed as it is, not parsed and written again.
  for (const auto& row : s.db().exec(history_sql(), {ref.key}).rows)
    if (row.at(0)) std::printf("%s\n", row[0]->c_str());
  return 0;
}

int consent(const Common& common, const std::string& subject, const std::string& channel,
            const ConsentProof& proof) {
  auto c = parse_channel(channel);
  if (!c) throw std::runtime_error("channel must be email, sms, push or line: " + channel);
  Session s(common);
  s.apply(consent_change(s.rt.keys, subject_ref(s, subject), *c, proof, system_now()));
  std::printf("consent recorded: %s %s\n", subject.c_str(), channel.c_str());
  return 0;
}

int consent_import(const Common& common, const std::string& file) {
  Session s(common);
  const std::string by = operator_name();
  const TimePoint now = system_now();
  SubjectChange pending;
  std::size_t stored = 0, bad = 0, queued = 0;
  auto flush = [&] {
    s.apply(pending);  // one audit statement and one Redis pipeline per thousand lines
    pending = {};
    queued = 0;
  };
  std::string error;
  bool ok = for_each_line(
      file,
      [&](std::string_view line, std::size_t n) {
        auto parsed = parse_consent_line(line, s.rt.config.phone_region, by);
        if (auto* inv = std::get_if<Invalid>(&parsed)) {
          // As enqueue reports a line, without the subject: it may be an address.
          std::fprintf(stderr, "line %zu: - %s: %s\n", n, inv->reason.c_str(), inv->detail.c_str());
          ++bad;
          return;
        }
        const auto& c = std::get<ConsentLine>(parsed);
        pending.append(consent_change(s.rt.keys, resolve_subject(c.subject, s.rt.secret), c.channel,
                                      c.proof, c.at.value_or(now)));
        ++stored;
        if (++queued >= 1000) flush();
      },
      error);
  if (queued > 0) flush();
  if (!ok) throw std::runtime_error(error);
  std::fprintf(
      stderr, "imported %zu consent proof%s%s\n", stored, stored == 1 ? "" : "s",
      bad ? fmt::format(", {} invalid line{} refused", bad, bad == 1 ? "" : "s").c_str() : "");
  return bad ? 1 : 0;
}

int optout(const Common& common, const std::string& subject, const std::string& scope, bool out) {
  std::string why;
  if (!valid_scope(scope, why)) throw std::runtime_error(why);
  Session s(common, /*policy=*/true);
  if (scope.rfind("purpose:", 0) == 0 && !s.rt.policy->known_purpose(scope.substr(8)))
    throw std::runtime_error("unknown purpose: " + scope.substr(8));
  s.apply(
      optout_change(s.rt.keys, subject_ref(s, subject), scope, out, operator_name(), system_now()));
  std::printf("%s %s %s\n", out ? "opted out:" : "opted in:", subject.c_str(), scope.c_str());
  return 0;
}

int stop(const Common& common, const std::string& subject, const std::string& purpose) {
  Session s(common, /*policy=*/true);
  if (!purpose.empty() && !s.rt.policy->known_purpose(purpose))
    throw std::runtime_error("unknown purpose: " + purpose);
  s.apply(stop_change(s.rt.keys, subject_ref(s, subject), purpose, operator_name(), system_now()));
  std::printf("stopped: %s %s\n", subject.c_str(), purpose.empty() ? "(all use)" : purpose.c_str());
  return 0;
}

int erase(const Common& common, const std::string& subject) {
  Session s(common);
  SubjectRef ref = subject_ref(s, subject);
  auto record = s.redis.run(redis::cmd("HGETALL", s.rt.keys.subscriber(ref.key)));
  s.apply(erase_change(s.rt.keys, ref, record, operator_name(), system_now()));
  std::printf("erased: %s\n", subject.c_str());
  return 0;
}

int suppression(const Common& common, const std::string& action, const std::string& named) {
  Session s(common);
  if (action == "list") {
    auto r =
        s.redis.run(redis::cmd("ZRANGE", s.rt.keys.suppressed_index(), "0", "-1", "WITHSCORES"));
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      const std::string& member = r.elements[i].str;
      auto colon = member.find(':');
      auto why = s.redis.run(
          redis::cmd("HGET", s.rt.keys.address(member.substr(colon + 1)), "suppressed"));
      std::printf("%s\n",
                  nlohmann::json(
                      {{"channel", member.substr(0, colon)},
                       {"address_hash", member.substr(colon + 1)},
                       {"since", format_rfc3339(from_epoch_ms(std::stoll(r.elements[i + 1].str)))},
                       {"why", nlohmann::json::parse(why.str, nullptr, false)}})
                      .dump()
                      .c_str());
    }
    return 0;
  }
  if (named.empty()) throw std::runtime_error("suppression " + action + " needs an address");
  const std::string address = normalized(s, named);
  const bool email = address.find('@') != std::string::npos;
  const bool phone = !email && valid_e164(address);
  if (email ? !valid_email(address) : !phone && address.size() < 16)
    throw std::runtime_error("not an e-mail address, phone number or push token: " +
                             mask_personal(address));
  const std::string channel = email ? "email" : phone ? "sms" : "push";
  const std::string h = address_hash(address, s.rt.secret);
  if (action == "lift") {
    SubjectChange lift;
    lift.redis = {redis::cmd("HDEL", s.rt.keys.address(h), "suppressed"),
                  redis::cmd("ZREM", s.rt.keys.suppressed_index(), channel + ":" + h)};
    s.apply(lift);
    std::printf("suppression lifted\n");
  } else {
    SubjectChange add;
    add.redis = suppress_commands(s.rt.keys, h, channel, "manual", "added by " + operator_name(),
                                  system_now());
    s.apply(add);
    std::printf("suppressed\n");
  }
  return 0;
}

template <class T>
std::shared_ptr<T> opt(T init = {}) {
  return std::make_shared<T>(std::move(init));
}

}  // namespace

void add_subject_verbs(CLI::App& app, const Common& common, Verbs& out) {
  auto* sub = app.add_subcommand("subscriber", "manage subscriber records");
  sub->require_subcommand(1);
  auto* put = sub->add_subcommand(
      "put", "upsert subscriber records, one JSON object a line, from F or - (stdin)");
  auto file = opt<std::string>("-");
  put->add_option("file", *file, "file of JSON lines, or - for stdin");
  out.push_back({put, [&common, file] { return subscriber_put(common, *file); }});

  auto* hist = app.add_subcommand(
      "history", "everything sent to, or withheld from, a subject, and why (開示)");
  auto subject = opt<std::string>();
  hist->add_option("subject", *subject,
                   "subscriber id, or a non-member's e-mail address or phone number")
      ->required();
  out.push_back({hist, [&common, subject] { return history(common, *subject); }});

  auto* con = app.add_subcommand(
      "consent",
      "record a marketing opt-in for a channel, with its proof\n"
      "  example: dispatcher consent m-1001 email --source member_settings --wording v3");
  auto csubject = opt<std::string>(), cchannel = opt<std::string>();
  auto proof = opt<ConsentProof>();
  proof->recorded_by = operator_name();
  // `consent import F` is a subcommand: the one-consent arguments are checked by hand, so that
  // CLI11 does not demand them of an import.
  auto* imp = con->add_subcommand(
      "import",
      "bulk: JSON lines {\"subject\",\"channel\",\"source\",\"wording\",\"at\",\"by\"} from F or "
      "-\n"
      "  example: dispatcher consent import consents.jsonl");
  auto ifile = opt<std::string>("-");
  imp->add_option("file", *ifile, "file of JSON lines, or - for stdin");
  out.push_back({imp, [&common, ifile] { return consent_import(common, *ifile); }});
  con->add_option("subject", *csubject, "subscriber id, e-mail or phone number");
  con->add_option("channel", *cchannel, "email, sms, push or line");
  con->add_option("--source", proof->source, "the form or way through which the person agreed");
  con->add_option("--wording", proof->wording, "the wording, or its version, the person agreed to");
  con->add_option("--by", proof->recorded_by, "who records it (default: cli:$USER)");
  out.push_back({con, [&common, csubject, cchannel, proof] {
                   if (csubject->empty() || cchannel->empty() || proof->source.empty())
                     throw std::runtime_error(
                         "consent needs SUBJECT CHANNEL --source S (or: consent import F)");
                   return consent(common, *csubject, *cchannel, *proof);
                 }});

  for (bool is_out : {true, false}) {
    auto* o =
        app.add_subcommand(is_out ? "optout" : "optin",
                           is_out ? "opt a subject out: all, channel:<c>, purpose:<p> or sender:<s>"
                                  : "withdraw an opt-out");
    auto osubject = opt<std::string>(), scope = opt<std::string>();
    o->add_option("subject", *osubject, "subscriber id, e-mail or phone number")->required();
    o->add_option("scope", *scope, "all, channel:<c>, purpose:<p> or sender:<s>")->required();
    out.push_back({o, [&common, osubject, scope, is_out] {
                     return optout(common, *osubject, *scope, is_out);
                   }});
  }

  auto* st = app.add_subcommand(
      "stop", "a request to stop use (利用停止), of everything or of one purpose");
  auto ssubject = opt<std::string>(), purpose = opt<std::string>();
  st->add_option("subject", *ssubject, "subscriber id, e-mail or phone number")->required();
  st->add_option("--purpose", *purpose, "stop only this purpose");
  out.push_back({st, [&common, ssubject, purpose] { return stop(common, *ssubject, *purpose); }});

  auto* er = app.add_subcommand(
      "erase", "a request for erasure (消去): contact data gone, never messaged again");
  auto esubject = opt<std::string>();
  er->add_option("subject", *esubject, "subscriber id, e-mail or phone number")->required();
  out.push_back({er, [&common, esubject] { return erase(common, *esubject); }});

  auto* sup = app.add_subcommand(
      "suppression", "list, add or lift address suppressions (hard bounces, dead numbers)");
  sup->require_subcommand(1);
  for (const char* action : {"list", "add", "lift"}) {
    auto* a = sup->add_subcommand(action, std::string(action) + " suppressions");
    auto address = opt<std::string>();
    if (std::string(action) != "list")
      a->add_option("address", *address, "e-mail, phone number or push token")->required();
    out.push_back(
        {a, [&common, action, address] { return suppression(common, action, *address); }});
  }
}

}  // namespace dispatcher::verbs
