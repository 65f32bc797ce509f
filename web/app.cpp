#include "web/app.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <map>
#include <set>

#include "channels/sms/twilio.hpp"
#include "dispatcher/audit.hpp"
#include "dispatcher/provider_latency.hpp"
#include "dispatcher/scheduler.hpp"
#include "dispatcher/subject_requests.hpp"
#include "dispatcher/subject_store.hpp"
#include "dispatcher/unsubscribe_token.hpp"
#include "web/preferences_page.hpp"
#include "web/text.hpp"

namespace dispatcher::web {

namespace {

using json = nlohmann::json;
using redis::cmd;
using redis::Command;
using redis::Reply;

constexpr auto kDay = std::chrono::hours(24);
// A consumer that has not ticked (every scheduler_interval_ms) for this long counts as gone.
constexpr std::int64_t consumer_alive_ms = 10000;

// Path segments decode %XX only ('+' stays '+', as in E.164 numbers).
std::optional<std::string> path_decode(std::string_view s) {
  std::string escaped;
  for (char ch : s) escaped += ch == '+' ? std::string("%2B") : std::string(1, ch);
  return url_decode(escaped);
}

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

std::string_view sv(boost::beast::string_view s) { return {s.data(), s.size()}; }

bool is_loopback(const boost::asio::ip::address& a) {
  if (a.is_v4()) return a.to_v4().is_loopback();
  if (a.is_v6())
    return a.to_v6().is_loopback() || (a.to_v6().is_v4_mapped() && a.to_v6().to_v4().is_loopback());
  return false;
}

std::string nonce() { return random_hex(8); }

}  // namespace

struct App::Call {
  Request req;
  boost::asio::ip::address remote;
  Respond respond;
  std::string route = "unknown";
  std::string path;
  std::map<std::string, std::string> query;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  Metrics* metrics = nullptr;
  bool answered = false;

  void send(http::status status, std::string body, std::string_view content_type) {
    if (answered) return;
    answered = true;
    Response res{status, req.version()};
    res.set(http::field::server, "dispatcher");
    res.set(http::field::content_type, std::string(content_type));
    res.set(http::field::cache_control, "no-store");
    res.set("Referrer-Policy", "no-referrer");
    res.set("X-Content-Type-Options", "nosniff");
    if (content_type.rfind("text/html", 0) == 0)
      res.set("Content-Security-Policy",
              "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors "
              "'none'");
    res.body() = std::move(body);
    const int code = static_cast<int>(status);
    metrics->inc("dispatcher_http_requests_total",
                 {{"route", route}, {"status", std::to_string(code)}});
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    spdlog::info("http {} {} {} {}ms", std::string(req.method_string()), route, code, ms.count());
    respond(std::move(res));
  }
  void json_reply(http::status status, const json& body) {
    send(status, body.dump() + "\n", "application/json");
  }
  void error(http::status status, std::string_view message) {
    json_reply(status, {{"error", message}});
  }
  void redirect(std::string location) {
    if (answered) return;
    answered = true;
    Response res{http::status::see_other, req.version()};
    res.set(http::field::location, location);
    res.set(http::field::cache_control, "no-store");
    res.set("Referrer-Policy", "no-referrer");
    metrics->inc("dispatcher_http_requests_total", {{"route", route}, {"status", "303"}});
    spdlog::info("http {} {} 303", std::string(req.method_string()), route);
    respond(std::move(res));
  }
  std::string lang() const {
    auto it = query.find("lang");
    return it != query.end() && it->second == "en" ? "en" : "ja";
  }
};

App::App(boost::asio::io_context& io, const Runtime& rt, const ApiKeys& keys, const ServeOptions& o,
         NowFn now)
    : io_(io), rt_(rt), keys_(keys), options_(o), now_(std::move(now)) {}

App::~App() = default;

void App::close() { redis_.reset(); }

void App::redis_exec(std::vector<Command> cmds, RedisDone done) {
  if (!redis_ || !redis_->connected()) {
    if (!redis_ || redis_->outstanding() == 0) {
      std::string error;
      redis_.reset();
      redis_ = redis::AsyncClient::connect(io_, rt_.redis_endpoint(), error);
      if (!redis_) {
        boost::asio::post(io_, [done, error] { done("connect: " + error, {}); });
        return;
      }
    }
  }
  auto finished = std::make_shared<bool>(false);
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, options_.redis_timeout);
  timer->async_wait([finished, done](const boost::system::error_code& ec) {
    if (ec || *finished) return;
    *finished = true;
    done("timeout", {});
  });
  auto copy = cmds;
  redis_->exec(std::move(cmds),
               [finished, timer, done, copy](const std::string& error, std::vector<Reply> replies) {
                 if (*finished) return;
                 *finished = true;
                 timer->cancel();
                 std::string err = error.empty() ? redis::first_error(copy, replies) : error;
                 // No exception may cross the event loop: a handler that throws loses its answer
                 // (the connection closes) but not the server.
                 try {
                   done(err, std::move(replies));
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

// ---- health and metrics ----

void App::healthz(CallPtr c) {
  // Plain /healthz is this server's health (it answers and reaches Redis): an intake server
  // is useful before any consumer runs, and a load balancer must not take it out of service
  // for a missing consumer. ?require=consumer is the whole pipeline's health (a consumer sent
  // a heartbeat recently), for the monitor that pages someone.
  const auto req = c->query.find("require");
  if (req != c->query.end() && req->second != "consumer")
    return c->error(http::status::bad_request, "require must be consumer");
  const bool need_consumer = req != c->query.end();
  const std::string alive_since = std::to_string(to_epoch_ms(system_now()) - consumer_alive_ms);
  redis_exec({cmd("PING"), cmd("ZCOUNT", rt_.keys.consumers(), alive_since, "+inf")},
             [c, need_consumer](const std::string& err, std::vector<Reply> r) {
               if (!err.empty() || r.size() != 2)
                 return c->json_reply(http::status::service_unavailable,
                                      {{"status", "unavailable"}, {"redis", "unavailable"}});
               const long long alive = r[1].integer;
               const bool ok = !need_consumer || alive > 0;
               c->json_reply(ok ? http::status::ok : http::status::service_unavailable,
                             {{"status", alive > 0 ? "ok" : "no_consumer"}, {"redis", "ok"}, {"consumers_alive", alive}});
             });
}

void App::metrics_page(CallPtr c) {
  const auto& k = rt_.keys;
  const std::string alive_since = std::to_string(to_epoch_ms(system_now()) - consumer_alive_ms);
  redis_exec(
      {cmd("XLEN", k.stream()), cmd("ZCARD", k.scheduled()), cmd("XLEN", k.dead()), cmd("HGETALL", k.stats()),
       cmd("ZCOUNT", k.consumers(), alive_since, "+inf")},
      [this, c](const std::string& err, std::vector<Reply> r) {
        std::vector<Metrics::Gauge> g;
        std::vector<Metrics::ExternalCounter> totals;
        Metrics::ExternalHistogram latency_hist{
            "dispatcher_provider_latency_seconds",
            "Time from handing a message to a provider to its answer, by provider and outcome.",
            {latency::bounds.begin(), latency::bounds.end()},
            {}};
        const bool ok = err.empty() && r.size() == 5;
        g.push_back({"dispatcher_redis_up", "Whether Redis answered this scrape.", ok ? 1.0 : 0.0});
        if (ok) {
          g.push_back(
              {"dispatcher_queue_depth", "Entries in the message stream.", double(r[0].integer)});
          g.push_back({"dispatcher_scheduled_messages",
                       "Messages waiting for their send time or a retry.", double(r[1].integer)});
          g.push_back({"dispatcher_dead_letters", "Entries in the dead-letter stream.",
                       double(r[2].integer)});
          g.push_back({"dispatcher_consumers_alive", "Consumers (`dispatcher run`) with a recent heartbeat.",
                       double(r[4].integer)});
          // The consumers' totals: sent per channel; denied, deferred, dead-lettered, failed per reason.
          Metrics::ExternalCounter sent{"dispatcher_messages_sent_total", "Messages a provider accepted, by channel.", {}};
          Metrics::ExternalCounter other{"dispatcher_messages_total",
                                         "Messages not sent, by outcome and reason code (retried: by channel).", {}};
          std::map<std::pair<std::string, std::string>, Metrics::ExternalHistogram::Series> by_provider;
          for (std::size_t i = 0; i + 1 < r[3].elements.size(); i += 2) {
            const std::string& field = r[3].elements[i].str;
            if (auto lf = latency::parse_field(field)) {
              auto& s = by_provider[{lf->provider, lf->outcome}];
              if (s.buckets.empty()) {
                s.labels = {{"provider", lf->provider}, {"outcome", lf->outcome}};
                s.buckets.assign(latency::bounds.size() + 1, 0.0);
              }
              const double v = std::atof(r[3].elements[i + 1].str.c_str());
              if (lf->bucket) s.buckets[*lf->bucket] += v;
              else s.sum += v / 1e6;
              continue;
            }
            const auto tab = field.find('\t');
            if (tab == std::string::npos) continue;
            const std::string outcome = field.substr(0, tab), label = field.substr(tab + 1);
            const double v = std::atof(r[3].elements[i + 1].str.c_str());
            if (outcome == "sent") sent.series.push_back({{{"channel", label}}, v});
            else other.series.push_back({{{"outcome", outcome}, {"reason", label}}, v});
          }
          totals = {std::move(sent), std::move(other)};
          for (auto& [_, s] : by_provider) latency_hist.series.push_back(std::move(s));
        }
        c->send(http::status::ok, metrics_.render(g, totals, {std::move(latency_hist)}),
                "text/plain; version=0.0.4; charset=utf-8");
      });
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
      else if (std::holds_alternative<std::string>(m.to) && m.purpose != "reservation" &&
               m.purpose != "support")
        why = "a clinic may message members only for reservation or support";
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
    const std::string payload = doc[i].dump();
    const Message& m = messages[i];
    if (m.send_at && *m.send_at > now) {
      auto s = schedule_commands(rt_.keys, m.id, payload, *m.send_at);
      cmds.insert(cmds.end(), s.begin(), s.end());
    } else {
      cmds.push_back(cmd("XADD", rt_.keys.stream(), "*", "payload", payload));
    }
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
  redis_exec(
      {cmd("GET", rt_.keys.unsubscribe_ref(claims->ref))},
      [this, c, token, gone](const std::string& err, std::vector<Reply> r) {
        if (!err.empty())
          return c->error(http::status::service_unavailable, "unavailable, please retry");
        if (r[0].is_nil()) return gone();
        const std::string subject = r[0].str;
        redis_exec({cmd("HGETALL", rt_.keys.state(subject))}, [c, token](const std::string& err,
                                                                         std::vector<Reply> r) {
          if (!err.empty())
            return c->error(http::status::service_unavailable, "unavailable, please retry");
          PreferencesView v;
          v.lang = c->lang();
          v.token = token;
          v.saved = c->query.count("saved") > 0;
          v.purposes = page_purposes();
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
             std::find(page_purposes().begin(), page_purposes().end(), v) != page_purposes().end())
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
      for (const auto& p : page_purposes()) {
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

// ---- webhooks ----

bool App::twilio_verified(const Call& c, const std::vector<std::pair<std::string, std::string>>& form) const {
  // Without an auth token there is nothing to check a signature with: only loopback (a
  // local relay, or the tests) may call.
  if (options_.twilio_auth_token.empty()) return is_loopback(c.remote);
  std::string base = options_.public_url;
  if (base.empty()) base = "http://" + std::string(c.req[http::field::host]);
  const std::string expected = twilio_signature(options_.twilio_auth_token, base + std::string(c.req.target()), form);
  return constant_time_equal(expected, sv(c.req["X-Twilio-Signature"]));
}

void App::sms_inbound(CallPtr c) {
  auto form = parse_form(c->req.body());
  if (!form) return c->error(http::status::bad_request, "malformed form");
  if (!twilio_verified(*c, *form)) return c->error(http::status::forbidden, "bad or missing Twilio signature");
  std::string from, body;
  for (const auto& [k, v] : *form) {
    if (k == "From")
      from = v;
    else if (k == "Body")
      body = v;
  }
  if (!valid_e164(from)) return c->error(http::status::bad_request, "From must be an E.164 number");
  const SmsKeyword kw = classify_keyword(body);
  auto twiml = [this, c](const char* result) {
    metrics_.inc("dispatcher_webhooks_total", {{"kind", "sms_inbound"}, {"result", result}});
    c->send(http::status::ok, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>",
            "text/xml; charset=utf-8");
  };
  if (kw == SmsKeyword::none) return twiml("ignored");
  const bool out = kw == SmsKeyword::stop;
  auto cmds = optout_commands(rt_.keys, resolve_subject(from, rt_.secret), "channel:sms", out,
                              "sms-keyword", now_());
  redis_exec(std::move(cmds), [c, twiml, out](const std::string& err, std::vector<Reply>) {
    if (!err.empty())
      return c->error(http::status::service_unavailable, "unavailable, please retry");
    twiml(out ? "optout" : "optin");
  });
}

void App::email_bounce(CallPtr c) {
  auto key = keys_.authenticate(sv(c->req[http::field::authorization]));
  if (!key || !key->is_operator())
    return c->error(http::status::unauthorized, "operator API key required");
  if (json_too_deep(c->req.body(), options_.json_depth_limit))
    return c->error(http::status::bad_request, "too deep");
  auto j = json::parse(c->req.body(), nullptr, false);
  if (!j.is_object() || !j.contains("address") || !j["address"].is_string() ||
      !j.contains("type") || !j["type"].is_string())
    return c->error(http::status::bad_request, "expected {\"address\", \"type\"}");
  const std::string address = j["address"], type = j["type"];
  if (!valid_email(address)) return c->error(http::status::bad_request, "not an e-mail address");
  if (type != "hard" && type != "soft" && type != "complaint")
    return c->error(http::status::bad_request, "type must be hard, soft or complaint");
  auto ok = [this, c, type] {
    metrics_.inc("dispatcher_webhooks_total", {{"kind", "email_bounce"}, {"result", type}});
    c->json_reply(http::status::ok, {{"status", "recorded"}});
  };
  if (type == "soft") return ok();
  const TimePoint now = now_();
  std::vector<Command> cmds;
  if (type == "hard") {
    cmds = suppress_commands(rt_.keys, address_hash(address, rt_.secret), "email", "webhook", "hard bounce", now);
  } else {
    cmds = optout_commands(rt_.keys, resolve_subject(address, rt_.secret), "channel:email", true,
                           "email-complaint", now);
  }
  redis_exec(std::move(cmds), [c, ok](const std::string& err, std::vector<Reply>) {
    if (!err.empty())
      return c->error(http::status::service_unavailable, "unavailable, please retry");
    ok();
  });
}

void App::delivery_status(CallPtr c) {
  // Two shapes: Twilio's StatusCallback (a signed form) and, for any other provider or relay,
  // JSON {"provider_message_id", "status", "error_code"?, "address_dead"?} with the operator key.
  std::string pmid, status, error_code;
  bool dead = false;
  const std::string_view type = sv(c->req[http::field::content_type]);
  if (type.rfind("application/x-www-form-urlencoded", 0) == 0) {
    auto form = parse_form(c->req.body());
    if (!form) return c->error(http::status::bad_request, "malformed form");
    if (!twilio_verified(*c, *form)) return c->error(http::status::forbidden, "bad or missing Twilio signature");
    for (const auto& [k, v] : *form) {
      if (k == "MessageSid") pmid = v;
      else if (k == "MessageStatus") status = v;
      else if (k == "ErrorCode") error_code = v;
    }
    if ((status == "undelivered" || status == "failed") && !error_code.empty()) {
      char* end = nullptr;
      const long code = std::strtol(error_code.c_str(), &end, 10);
      dead = end && *end == '\0' && channels::sms::twilio_error_means_dead_number(code);
    }
  } else {
    auto key = keys_.authenticate(sv(c->req[http::field::authorization]));
    if (!key || !key->is_operator()) return c->error(http::status::unauthorized, "operator API key required");
    if (json_too_deep(c->req.body(), options_.json_depth_limit)) return c->error(http::status::bad_request, "too deep");
    auto j = json::parse(c->req.body(), nullptr, false);
    if (!j.is_object() || !j.contains("provider_message_id") || !j["provider_message_id"].is_string() ||
        !j.contains("status") || !j["status"].is_string())
      return c->error(http::status::bad_request, "expected {\"provider_message_id\", \"status\"}");
    pmid = j["provider_message_id"];
    status = j["status"];
    if (j.contains("error_code")) {
      if (!j["error_code"].is_string() && !j["error_code"].is_number_integer())
        return c->error(http::status::bad_request, "error_code must be a string or an integer");
      error_code = j["error_code"].is_string() ? j["error_code"].get<std::string>() : j["error_code"].dump();
    }
    if (j.contains("address_dead")) {
      if (!j["address_dead"].is_boolean()) return c->error(http::status::bad_request, "address_dead must be true or false");
      dead = j["address_dead"];
    }
  }
  auto token_like = [](std::string_view v, std::size_t max, bool lower) {
    return !v.empty() && v.size() <= max && std::all_of(v.begin(), v.end(), [lower](char ch) {
      return lower ? ((ch >= 'a' && ch <= 'z') || ch == '_') : (ch > 0x20 && ch < 0x7f);
    });
  };
  if (!token_like(pmid, 256, false)) return c->error(http::status::bad_request, "missing or malformed message id");
  if (!token_like(status, 32, true)) return c->error(http::status::bad_request, "missing or malformed status");
  if (!error_code.empty() && !token_like(error_code, 32, false))
    return c->error(http::status::bad_request, "malformed error code");
  redis_exec({cmd("GET", rt_.keys.provider_message(pmid))}, [this, c, pmid, status, error_code, dead](
                                                                const std::string& err, std::vector<Reply> r) {
    if (!err.empty() || r.size() != 1) return c->error(http::status::service_unavailable, "unavailable, please retry");
    auto about = r[0].is_nil() ? json() : json::parse(r[0].str, nullptr, false);
    if (!about.is_object() || !about.contains("subject")) {
      // Not one of ours, or older than our records: the provider must not retry it.
      metrics_.inc("dispatcher_webhooks_total", {{"kind", "status"}, {"result", "unknown_message"}});
      return c->json_reply(http::status::ok, {{"status", "unknown_message"}});
    }
    const TimePoint now = now_();
    AuditRecord rec;
    rec.time = now;
    rec.event = "delivery_status";
    rec.subject = about.value("subject", "");
    rec.message_id = about.value("id", "");
    rec.channel = about.value("channel", "");
    rec.provider = about.value("provider", "");
    rec.provider_message_id = pmid;
    rec.extra = {{"status", status}};
    if (!error_code.empty()) rec.extra["error_code"] = error_code;
    std::vector<Command> cmds;
    const std::string address = about.value("address", "");
    if (dead && !address.empty()) {
      rec.reason = "address_suppressed:" + rec.channel;
      cmds = suppress_commands(rt_.keys, address, rec.channel, rec.provider,
                               "delivery status " + status + (error_code.empty() ? "" : " " + error_code), now);
    }
    cmds.push_back(audit_command(rt_.keys, rec));
    redis_exec(std::move(cmds), [this, c, status](const std::string& err, std::vector<Reply>) {
      if (!err.empty()) return c->error(http::status::service_unavailable, "unavailable, please retry");
      metrics_.inc("dispatcher_webhooks_total", {{"kind", "status"}, {"result", "recorded"}});
      c->json_reply(http::status::ok, {{"status", "recorded"}});
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
    redis_exec({cmd("XRANGE", rt_.keys.history(ref.key), "-", "+", "COUNT", "10000"), record_cmd()},
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
