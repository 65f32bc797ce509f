#include "web/app.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "codec/percent.hpp"
#include "dispatcher/enqueue.hpp"
#include "dispatcher/scheduler.hpp"
#include "model/unsubscribe_token.hpp"
#include "store/subject_requests.hpp"
#include "store/subject_store.hpp"
#include "web/app_call.hpp"
#include "web/preferences_page.hpp"
#include "web/text.hpp"

namespace dispatcher::web {

namespace {

using json = nlohmann::json;
using redis::cmd;
using redis::Command;
using redis::Reply;

constexpr auto kDay = std::chrono::hours(24);

// Path segments decode %XX only ('+' stays '+', as in E.164 numbers).
std::optional<std::string> path_decode(std::string_view s) { return percent_decode(s, false); }

std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
  }
  return out;
}

std::string nonce() { return random_hex(8); }

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

App::App(boost::asio::io_context& io, const Runtime& rt, const ApiKeys& keys, const ServeOptions& o,
         redis::Endpoint redis, NowFn now)
    : rt_(rt),
      keys_(keys),
      options_(o),
      now_(std::move(now)),
      page_purposes_(page_purposes(*rt.policy)),
      redis_(io, std::move(redis), o.redis_timeout) {}

App::~App() = default;

void App::close() { redis_.close(); }

void App::redis_exec(std::vector<Command> cmds, RedisDone done) {
  redis_.exec(std::move(cmds), [done](std::error_code ec, std::vector<Reply> replies) {
    // No exception may cross the event loop: a handler that throws loses its answer (the
    // connection closes) but not the server.
    try {
      done(ec ? ec.message() : std::string{}, std::move(replies));
    } catch (const std::exception& e) {
      spdlog::error("http: handler failed: {}", e.what());
    }
  });
}

void App::handle(Request req, const boost::asio::ip::address& remote, Respond respond) {
  auto c = std::make_shared<Call>();
  c->req = std::move(req);
  c->remote = remote;
  c->respond = std::move(respond);
  c->metrics = &metrics_;
  auto [path, query] = split_target(sv(c->req.target()));
  c->path = path;
  c->query = std::move(query);
  const auto seg = segments(c->path);
  const auto method = c->req.method();
  auto is = [&](std::initializer_list<const char*> want) {
    if (seg.size() != want.size()) return false;
    std::size_t i = 0;
    for (const char* w : want) {
      if (*w != '*' && seg[i] != w) return false;
      ++i;
    }
    return true;
  };
  auto route = [&](std::string name, http::verb allowed, auto&& run) {
    c->route = std::move(name);
    if (method != allowed) {
      c->error(http::status::method_not_allowed, "method not allowed");
      return;
    }
    run();
  };
  auto decoded = [&](std::size_t i) { return path_decode(seg[i]).value_or(std::string{}); };

  try {
    if (is({"healthz"})) return route("/healthz", http::verb::get, [&] { healthz(c); });
    if (is({"metrics"})) return route("/metrics", http::verb::get, [&] { metrics_page(c); });
    if (is({"v1", "messages"})) return route("/v1/messages", http::verb::post, [&] { intake(c); });
    if (is({"v1", "messages", "*"}))
      return route("/v1/messages/{id}", http::verb::delete_, [&] { cancel(c, decoded(2)); });
    if (is({"u", "*"})) {
      c->route = "/u/{token}";
      if (method == http::verb::get || method == http::verb::head)
        return unsubscribe_get(c, seg[1]);
      if (method == http::verb::post) return unsubscribe_post(c, seg[1]);
      return c->error(http::status::method_not_allowed, "method not allowed");
    }
    if (is({"u", "*", "preferences"}))
      return route("/u/{token}/preferences", http::verb::post,
                   [&] { preferences_post(c, seg[1]); });
    if (is({"webhooks", "sms", "inbound"}))
      return route("/webhooks/sms/inbound", http::verb::post, [&] { sms_inbound(c); });
    if (is({"webhooks", "email", "bounce"}))
      return route("/webhooks/email/bounce", http::verb::post, [&] { email_bounce(c); });
    if (is({"webhooks", "status"}))
      return route("/webhooks/status", http::verb::post, [&] { delivery_status(c); });
    if (is({"v1", "subjects", "*", "history"}))
      return route("/v1/subjects/{subject}/history", http::verb::get,
                   [&] { subject_request(c, decoded(2), "history"); });
    if (is({"v1", "subjects", "*", "*"}) &&
        (seg[3] == "optout" || seg[3] == "optin" || seg[3] == "stop" || seg[3] == "erase"))
      return route("/v1/subjects/{subject}/" + seg[3], http::verb::post,
                   [&] { subject_request(c, decoded(2), seg[3]); });
    c->route = "unknown";
    c->error(http::status::not_found, "not found");
  } catch (const std::exception& e) {
    spdlog::error("http {}: {}", c->route, e.what());
    c->error(http::status::internal_server_error, "internal error");
  }
}

// ---- intake ----

void App::intake(CallPtr c) {
  auto key = keys_.authenticate(sv(c->req[http::field::authorization]));
  if (!key) return c->error(http::status::unauthorized, "missing or unknown API key");
  const std::string& body = c->req.body();
  auto reject = [&](http::status s, json errors) {
    metrics_.inc("dispatcher_intake_messages_total", {{"result", "rejected"}});
    c->json_reply(s, {{"errors", std::move(errors)}});
  };
  if (json_too_deep(body, options_.json_depth_limit))
    return reject(
        http::status::bad_request,
        json::array(
            {{{"index", 0},
              {"reason", "invalid_message:too_deep"},
              {"detail", fmt::format("JSON nests deeper than {}", options_.json_depth_limit)}}}));
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded())
    return reject(http::status::bad_request, json::array({{{"index", 0},
                                                           {"reason", "invalid_message:bad_json"},
                                                           {"detail", "the body is not JSON"}}}));
  if (!doc.is_array()) doc = json::array({std::move(doc)});
  if (doc.empty() || doc.size() > options_.max_batch)
    return reject(
        http::status::bad_request,
        json::array({{{"index", 0},
                      {"reason", "invalid_message:batch_size"},
                      {"detail", fmt::format("send 1 to {} messages", options_.max_batch)}}}));
  const auto vocab = rt_.vocabulary();
  std::vector<Message> messages;
  json errors = json::array(), forbidden = json::array();
  for (std::size_t i = 0; i < doc.size(); ++i) {
    auto parsed = parse_message_json(doc[i], vocab);
    if (auto* inv = std::get_if<Invalid>(&parsed)) {
      errors.push_back({{"index", i}, {"reason", inv->reason}, {"detail", inv->detail}});
      continue;
    }
    Message& m = std::get<Message>(parsed);
    if (!key->is_operator()) {
      const std::string clinic = key->clinic();
      std::string why;
      if (m.sender != key->sender)
        why = "this key sends only as " + key->sender;
      else if (auto* in = std::get_if<InlineRecipient>(&m.to); in && in->clinic != clinic)
        why = "a clinic may address only its own contacts";
      else if (std::holds_alternative<std::string>(m.to) &&
               !rt_.policy->may_message_member(m.sender, m.purpose))
        why = "a clinic may message members only for " + member_purposes(*rt_.policy, m.sender);
      if (!why.empty())
        forbidden.push_back({{"index", i}, {"reason", "forbidden"}, {"detail", why}});
    }
    messages.push_back(std::move(m));
  }
  if (!errors.empty()) return reject(http::status::bad_request, std::move(errors));
  if (!forbidden.empty()) return reject(http::status::forbidden, std::move(forbidden));

  const TimePoint now = now_();
  std::vector<Command> cmds{cmd("MULTI")};
  json ids = json::array();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    enqueue_commands(rt_.keys, m.id, m.send_at, doc[i].dump(), now, cmds);
    ids.push_back(m.id);
  }
  cmds.push_back(cmd("EXEC"));
  const auto n = messages.size();
  redis_exec(std::move(cmds), [this, c, ids, n](const std::string& err, std::vector<Reply> r) {
    if (!err.empty() || r.empty() || r.back().is_nil()) {
      spdlog::error("intake: redis: {}", err);
      return c->error(http::status::service_unavailable,
                      "queue unavailable, nothing was accepted; retry later");
    }
    metrics_.inc("dispatcher_intake_messages_total", {{"result", "accepted"}}, n);
    c->json_reply(http::status::accepted, {{"accepted", ids}});
  });
}

void App::cancel(CallPtr c, std::string id) {
  auto key = keys_.authenticate(sv(c->req[http::field::authorization]));
  if (!key) return c->error(http::status::unauthorized, "missing or unknown API key");
  if (id.empty() || id.size() > 200)
    return c->error(http::status::not_found, "no such scheduled message");
  auto do_cancel = [this, c, id] {
    redis_exec(
        {cancel_command(rt_.keys, id, rt_.config.consumer.idempotency_ttl_days * 86400000LL)},
        [c, id](const std::string& err, std::vector<Reply> r) {
          if (!err.empty()) return c->error(http::status::service_unavailable, "queue unavailable");
          const std::string status = r[0].elements.empty() ? "" : r[0].elements[0].str;
          if (status == "cancelled")
            return c->json_reply(http::status::ok, {{"id", id}, {"status", "cancelled"}});
          if (status == "marked")
            return c->json_reply(http::status::accepted, {{"id", id}, {"status", "marked"}});
          c->json_reply(http::status::conflict,
                        {{"id", id}, {"status", status.empty() ? "already" : status}});
        });
  };
  if (key->is_operator()) return do_cancel();
  // A clinic cancels only its own scheduled messages; "not yours" and "not there" look alike.
  redis_exec({cmd("HGET", rt_.keys.sched(id), "payload")},
             [c, sender = key->sender, do_cancel](const std::string& err, std::vector<Reply> r) {
               if (!err.empty())
                 return c->error(http::status::service_unavailable, "queue unavailable");
               if (r[0].is_nil())
                 return c->error(http::status::not_found, "no such scheduled message");
               auto j = json::parse(r[0].str, nullptr, false);
               if (!j.is_object() || !j.contains("sender") || j["sender"] != sender)
                 return c->error(http::status::not_found, "no such scheduled message");
               do_cancel();
             });
}

// ---- unsubscribe ----

namespace {

SubjectRef subject_from_key(const std::string& key) {
  SubjectRef s{key, {}};
  if (key.rfind("contact:", 0) == 0) s.address_hash = key.substr(8);
  return s;
}

}  // namespace

void App::unsubscribe_get(CallPtr c, std::string token) {
  auto claims = verify_token(token, rt_.secret, now_());
  auto gone = [c] {
    c->send(
        http::status::not_found,
        render_message_page(
            c->lang(), 404, "このリンクは無効です", "This link is not valid",
            "リンクの有効期限が切れているか、正しくありません。お手数ですが、最新のメールのリンクか"
            "らお試しください。",
            "The link has expired or is not correct. Please use the link in our latest message."),
        "text/html; charset=utf-8");
  };
  if (!claims) return gone();
  redis_exec({cmd("GET", rt_.keys.unsubscribe_ref(claims->ref))},
             [this, c, token, gone](const std::string& err, std::vector<Reply> r) {
               if (!err.empty())
                 return c->error(http::status::service_unavailable, "unavailable, please retry");
               if (r[0].is_nil()) return gone();
               const std::string subject = r[0].str;
               redis_exec({cmd("HGETALL", rt_.keys.state(subject))}, [this, c, token](
                                                                         const std::string& err,
                                                                         std::vector<Reply> r) {
                 if (!err.empty())
                   return c->error(http::status::service_unavailable, "unavailable, please retry");
                 PreferencesView v;
                 v.lang = c->lang();
                 v.token = token;
                 v.saved = c->query.count("saved") > 0;
                 v.purposes = page_purposes_;
                 for (std::size_t i = 0; i + 1 < r[0].elements.size(); i += 2) {
                   const std::string& f = r[0].elements[i].str;
                   if (f.rfind("optout:", 0) == 0) v.opted_out.insert(f.substr(7));
                 }
                 c->send(http::status::ok, render_preferences_page(v), "text/html; charset=utf-8");
               });
             });
}

void App::unsubscribe_post(CallPtr c, std::string token) {
  auto claims = verify_token(token, rt_.secret, now_());
  if (!claims) return c->error(http::status::not_found, "link not valid or expired");
  auto form = parse_form(c->req.body());
  // RFC 8058: the body is exactly the one field List-Unsubscribe=One-Click.
  if (!form || form->size() != 1 || (*form)[0].first != "List-Unsubscribe" ||
      (*form)[0].second != "One-Click")
    return c->error(http::status::bad_request, "expected the body List-Unsubscribe=One-Click");
  std::string why;
  if (!valid_scope(claims->scope, why))
    return c->error(http::status::bad_request, "link not valid");
  redis_exec({cmd("GET", rt_.keys.unsubscribe_ref(claims->ref))},
             [this, c, scope = claims->scope](const std::string& err, std::vector<Reply> r) {
               if (!err.empty())
                 return c->error(http::status::service_unavailable, "unavailable, please retry");
               if (r[0].is_nil())
                 return c->error(http::status::not_found, "link not valid or expired");
               auto cmds = optout_commands(rt_.keys, subject_from_key(r[0].str), scope, true,
                                           "one-click", now_());
               redis_exec(std::move(cmds), [this, c](const std::string& err, std::vector<Reply>) {
                 if (!err.empty())
                   return c->error(http::status::service_unavailable, "unavailable, please retry");
                 metrics_.inc("dispatcher_unsubscribes_total", {{"kind", "one_click"}});
                 c->send(http::status::ok, "unsubscribed\n", "text/plain; charset=utf-8");
               });
             });
}

void App::preferences_post(CallPtr c, std::string token) {
  auto claims = verify_token(token, rt_.secret, now_());
  if (!claims) return c->error(http::status::not_found, "link not valid or expired");
  auto form = parse_form(c->req.body());
  if (!form) return c->error(http::status::bad_request, "malformed form");
  std::set<std::string> want_purposes, want_channels;
  bool stop_all = false, has_marker = false;
  for (const auto& [k, v] : *form) {
    if (k == "form" && v == "prefs-v1")
      has_marker = true;
    else if (k == "purpose" &&
             std::find(page_purposes_.begin(), page_purposes_.end(), v) != page_purposes_.end())
      want_purposes.insert(v);
    else if (k == "channel" && parse_channel(v))
      want_channels.insert(v);
    else if (k == "stop_all" && v == "1")
      stop_all = true;
    else
      return c->error(http::status::bad_request, "unexpected field in form");
  }
  if (!has_marker) return c->error(http::status::bad_request, "not a preferences form");
  redis_exec({cmd("GET", rt_.keys.unsubscribe_ref(claims->ref))}, [=, this](const std::string& err,
                                                                            std::vector<Reply> r) {
    if (!err.empty())
      return c->error(http::status::service_unavailable, "unavailable, please retry");
    if (r[0].is_nil()) return c->error(http::status::not_found, "link not valid or expired");
    const SubjectRef subject = subject_from_key(r[0].str);
    redis_exec({cmd("HGETALL", rt_.keys.state(subject.key))}, [=, this](const std::string& err,
                                                                        std::vector<Reply> r) {
      if (!err.empty())
        return c->error(http::status::service_unavailable, "unavailable, please retry");
      std::set<std::string> out_now;
      for (std::size_t i = 0; i + 1 < r[0].elements.size(); i += 2)
        if (r[0].elements[i].str.rfind("optout:", 0) == 0)
          out_now.insert(r[0].elements[i].str.substr(7));
      const TimePoint now = now_();
      std::vector<Command> cmds;
      bool purpose_back_in = false;
      auto set = [&](const std::string& scope, bool out) {
        if (out == (out_now.count(scope) > 0)) return;  // unchanged: no write, no audit noise
        auto more = optout_commands(rt_.keys, subject, scope, out, "unsubscribe-page", now);
        cmds.insert(cmds.end(), more.begin(), more.end());
      };
      for (const auto& p : page_purposes_) {
        const bool out = !want_purposes.count(p);
        if (!out && out_now.count("purpose:" + p)) purpose_back_in = true;
        set("purpose:" + p, out);
      }
      for (Channel ch : all_channels)
        set("channel:" + std::string(to_string(ch)),
            !want_channels.count(std::string(to_string(ch))));
      if (!stop_all && out_now.count("all")) purpose_back_in = true;
      set("all", stop_all);
      if (purpose_back_in && !stop_all) {
        // Opting back in to marketing is a consent (特定電子メール法): record when, how, by whom.
        for (const auto& ch : want_channels)
          for (auto& cm : consent_commands(
                   rt_.keys, subject, *parse_channel(ch),
                   ConsentProof{"unsubscribe_page", "prefs-page-v1", "unsubscribe-page"}, now))
            cmds.push_back(std::move(cm));
      }
      auto done = [this, c] {
        metrics_.inc("dispatcher_unsubscribes_total", {{"kind", "preferences"}});
        c->redirect(c->path.substr(0, c->path.size() - std::string("/preferences").size()) +
                    "?saved=1" + (c->lang() == "en" ? "&lang=en" : ""));
      };
      if (cmds.empty()) return done();
      redis_exec(std::move(cmds), [c, done](const std::string& err, std::vector<Reply>) {
        if (!err.empty())
          return c->error(http::status::service_unavailable, "unavailable, please retry");
        done();
      });
    });
  });
}

// ---- subject requests (operator only) ----

void App::subject_request(CallPtr c, std::string subject, std::string action) {
  auto key = keys_.authenticate(sv(c->req[http::field::authorization]));
  if (!key) return c->error(http::status::unauthorized, "missing or unknown API key");
  if (!key->is_operator())
    return c->error(http::status::forbidden, "subject requests need the operator's key");
  const bool printable =
      std::all_of(subject.begin(), subject.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; });
  if (subject.empty() || subject.size() > 320 || !printable)
    return c->error(http::status::bad_request, "bad subject");
  const SubjectRef ref = resolve_subject(subject, rt_.secret);
  if (!ref.address_hash.empty() && !(valid_email(subject) || valid_e164(subject)))
    return c->error(http::status::bad_request, "not an e-mail address or E.164 number");
  const TimePoint now = now_();
  json body = json::object();
  if (action != "history" && action != "erase" && !c->req.body().empty()) {
    if (json_too_deep(c->req.body(), options_.json_depth_limit))
      return c->error(http::status::bad_request, "too deep");
    body = json::parse(c->req.body(), nullptr, false);
    if (!body.is_object()) return c->error(http::status::bad_request, "expected a JSON object");
  }
  // Every request is recorded with its due date (POLICY.md: answered within two weeks).
  const std::string rid = fmt::format("req-{}-{}", to_epoch_ms(now), nonce());
  const std::string kind = action == "history" ? "disclosure" : action;
  json record = {{"id", rid},
                 {"kind", kind},
                 {"subject", ref.key},
                 {"received", format_rfc3339(now)},
                 {"due", format_rfc3339(now + 14 * kDay)},
                 {"status", "completed"},
                 {"completed", format_rfc3339(now)},
                 {"by", "api:" + key->sender}};
  auto record_cmd = [this, rid, record] {
    return cmd("HSET", rt_.keys.requests(), rid, record.dump());
  };
  auto finish = [this, c, kind, rid](json reply) {
    metrics_.inc("dispatcher_subject_requests_total", {{"kind", kind}});
    reply["request"] = rid;
    c->json_reply(http::status::ok, reply);
  };
  const std::string by = "api:" + key->sender;

  if (action == "history") {
    redis_exec({cmd("XRANGE", rt_.keys.history(ref.key), "-", "+"), record_cmd()},
               [c, finish](const std::string& err, std::vector<Reply> r) {
                 if (!err.empty())
                   return c->error(http::status::service_unavailable, "unavailable, please retry");
                 json entries = json::array();
                 for (const auto& e : r[0].elements) {
                   if (e.elements.size() < 2) continue;
                   const auto& f = e.elements[1].elements;
                   for (std::size_t i = 0; i + 1 < f.size(); i += 2)
                     if (f[i].str == "r")
                       entries.push_back(json::parse(f[i + 1].str, nullptr, false));
                 }
                 finish({{"history", entries}});
               });
    return;
  }
  std::vector<Command> cmds;
  if (action == "optout" || action == "optin") {
    if (!body.contains("scope") || !body["scope"].is_string())
      return c->error(http::status::bad_request, "scope required");
    const std::string scope = body["scope"];
    std::string why;
    if (!valid_scope(scope, why)) return c->error(http::status::bad_request, why);
    if (scope.rfind("purpose:", 0) == 0 && !rt_.policy->known_purpose(scope.substr(8)))
      return c->error(http::status::bad_request, "unknown purpose");
    cmds = optout_commands(rt_.keys, ref, scope, action == "optout", by, now);
  } else if (action == "stop") {
    std::string purpose;
    if (body.contains("purpose")) {
      if (!body["purpose"].is_string())
        return c->error(http::status::bad_request, "purpose must be a string");
      purpose = body["purpose"];
      if (!rt_.policy->known_purpose(purpose))
        return c->error(http::status::bad_request, "unknown purpose");
    }
    cmds = stop_commands(rt_.keys, ref, purpose, by, now);
  } else if (action == "erase") {
    redis_exec(
        {cmd("HGETALL", rt_.keys.subscriber(ref.key))},
        [this, c, ref, by, now, record_cmd, finish](const std::string& err, std::vector<Reply> r) {
          if (!err.empty())
            return c->error(http::status::service_unavailable, "unavailable, please retry");
          auto cmds = erase_commands(rt_.keys, ref, r[0], by, now);
          cmds.push_back(record_cmd());
          redis_exec(std::move(cmds), [c, finish](const std::string& err, std::vector<Reply>) {
            if (!err.empty())
              return c->error(http::status::service_unavailable, "unavailable, please retry");
            finish({{"status", "erased"}});
          });
        });
    return;
  }
  cmds.push_back(record_cmd());
  redis_exec(std::move(cmds), [c, finish, action](const std::string& err, std::vector<Reply>) {
    if (!err.empty())
      return c->error(http::status::service_unavailable, "unavailable, please retry");
    finish({{"status", action == "stop"     ? "stopped"
                       : action == "optout" ? "opted_out"
                                            : "opted_in"}});
  });
}

}  // namespace dispatcher::web
