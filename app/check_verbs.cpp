// check, explain, render: looking at config, decisions and templates without sending.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "app/bad_lines.hpp"
#include "app/verbs.hpp"
#include "channels/builtin.hpp"
#include "channels/connect_probe.hpp"
#include "config/yaml_reader.hpp"
#include "dispatcher/batch.hpp"
#include "dispatcher/providers.hpp"
#include "dispatcher/runtime.hpp"
#include "dispatcher/template_values.hpp"
#include "model/unsubscribe_token.hpp"
#include "store/pg/embedded_postgres.hpp"
#include "store/pg/migrations.hpp"
#include "store/redis/sync_client.hpp"
#include "templates/sms_count.hpp"

namespace dispatcher::verbs {

namespace {

// The status_callback URLs of the twilio entries under channels.sms.
std::vector<std::string> twilio_status_callbacks(const config::Located& channels) {
  std::vector<std::string> out;
  const YAML::Node list =
      channels.node && channels.node.IsMap() ? channels.node["sms"] : YAML::Node();
  if (!list || !list.IsSequence()) return out;
  for (const auto& entry : list)
    if (entry.IsMap() && entry["type"] && entry["type"].Scalar() == "twilio" &&
        entry["status_callback"] && entry["status_callback"].IsScalar() &&
        !entry["status_callback"].Scalar().empty())
      out.push_back(entry["status_callback"].Scalar());
  return out;
}

// The database, when one is configured or the embedded cluster runs (check starts nothing): one
// it cannot reach is an error; one behind this build's schema is reported (run and serve
// migrate it at start-up, `dispatcher migrate` by hand).
void check_database(const config::Config& cfg, std::vector<std::string>& errors) {
  std::string url = cfg.database_url;
  if (url.empty()) {
    auto embedded = embedded_postgres_status(cfg.data_dir);
    if (!embedded.running) return;
    url = embedded.conninfo;
  }
  try {
    auto db = pg::Connection::connect(url);
    const auto missing = pg::missing_migrations(db);
    if (missing.empty()) return;
    std::string names;
    for (int v : missing)
      for (const auto& m : pg::migrations())
        if (m.version == v)
          names += fmt::format("{}{:04}_{}", names.empty() ? "" : ", ", v, m.name);
    std::fprintf(stderr,
                 "dispatcher: warning: database: %zu migration%s not applied (%s): run and serve "
                 "apply them at start-up, `dispatcher migrate` now\n",
                 missing.size(), missing.size() == 1 ? "" : "s", names.c_str());
  } catch (const pg::Error& e) {
    errors.push_back(std::string("database: ") + e.what());
  }
}

int check(const Common& common, bool connect) {
  std::vector<std::string> errors;
  config::Config cfg;
  try {
    cfg = config::load(common.config_file);
  } catch (const config::LoadError& e) {
    for (const auto& l : e.errors()) errors.push_back(e.subject() + ": " + l);
    for (const auto& l : errors) std::fprintf(stderr, "dispatcher: %s\n", l.c_str());
    return 1;
  }
  if (auto e = phone_region_error(cfg)) errors.push_back(*e);
  Runtime rt;
  rt.config = cfg;
  try {
    rt.policy = policy::Policy::load(config::resolve_shipped(cfg.policy_file));
    for (const auto& e : token_scope_errors(*rt.policy)) errors.push_back("policy: " + e);
  } catch (const config::LoadError& e) {
    for (const auto& l : e.errors()) errors.push_back(e.subject() + ": " + l);
  }
  std::size_t templates = 0;
  try {
    rt.catalog =
        templates::Catalog::load(config::resolve_shipped(cfg.templates.dir), rt.template_options());
    templates = rt.catalog->names().size();
  } catch (const templates::LoadError& e) {
    for (const auto& l : e.errors()) errors.push_back("template: " + l);
  }
  try {
    // Building the providers reads their entries, key files and secrets; nothing is sent.
    boost::asio::io_context io;
    rt.keys.prefix = cfg.key_prefix;
    ProviderSet set = build_providers(io, rt);
    // LINE accepts pushes to users who blocked the account and drops them: without the secret
    // that verifies its webhook, unfollows are never heard and the channel is not honest.
    if (set.by_channel[index(Channel::line)] &&
        channels::line_channel_secrets(cfg.channels).empty())
      std::fprintf(stderr,
                   "dispatcher: warning: channels.line has no channel_secret_env or "
                   "channel_secret_file: POST /webhooks/line is disabled, so unfollows (blocks) "
                   "are never recorded as opt-outs\n");
    // Twilio's status callbacks (and inbound SMS) are verified with serve's
    // --twilio-auth-token-env over --public-url; without them serve answers Twilio 404.
    for (const auto& url : twilio_status_callbacks(cfg.channels))
      std::fprintf(stderr,
                   "dispatcher: warning: channels.sms asks Twilio to call back %s: serve must run "
                   "with --twilio-auth-token-env and --public-url, else POST /webhooks/status "
                   "refuses Twilio's signed form (404) and delivery status is never recorded\n",
                   url.c_str());
    // --connect: each endpoint's handshake (TLS, SMTP EHLO/STARTTLS/AUTH), one line each.
    for (Channel c : all_channels) {
      if (!connect || !set.by_channel[index(c)]) continue;
      for (const auto& t : set.by_channel[index(c)]->connect_targets()) {
        const auto r = channels::probe_connection(t, std::chrono::seconds(10));
        const std::string where = fmt::format("channels.{} {} {}", to_string(c), t.provider, t.url);
        if (r.ok)
          std::printf("connect: %s ok (%lld ms)%s%s\n", where.c_str(),
                      static_cast<long long>(r.took.count()), r.report.empty() ? "" : "; ",
                      r.report.c_str());
        else
          errors.push_back(fmt::format("connect: {}: {}", where, r.error));
      }
    }
  } catch (const config::LoadError& e) {
    for (const auto& l : e.errors()) errors.push_back(e.subject() + ": " + l);
  } catch (const std::exception& e) {
    errors.push_back(std::string("channels: ") + e.what());
  }
  try {
    rt.webhooks = read_webhook_targets(cfg.webhooks.senders);
  } catch (const config::LoadError& e) {
    for (const auto& l : e.errors()) errors.push_back(e.subject() + ": " + l);
  }
  check_database(cfg, errors);
  for (const auto& l : errors) std::fprintf(stderr, "dispatcher: %s\n", l.c_str());
  if (!errors.empty()) {
    std::fprintf(stderr, "check: %zu error%s\n", errors.size(), errors.size() == 1 ? "" : "s");
    return 1;
  }
  std::printf("check: ok (config %s, policy %s, %zu templates)\n",
              cfg.source.empty() ? "built-in defaults" : cfg.source.c_str(),
              config::resolve_shipped(cfg.policy_file).c_str(), templates);
  return 0;
}

struct ExplainOptions {
  std::string now;
  std::string file = "-";
  bool summary = false;
};

int explain(const Common& common, const ExplainOptions& o) {
  Runtime rt = open_runtime(common.config_file);
  TimePoint now = system_now();
  if (!o.now.empty()) {
    auto t = parse_rfc3339(o.now);
    if (!t) throw std::runtime_error("--now is not an RFC 3339 timestamp: " + o.now);
    now = *t;
  }
  auto redis = redis::SyncClient::connect(rt.redis_endpoint());
  Gate gate(rt);
  std::map<std::string, std::int64_t> by_decision, by_channel, by_reason;
  std::int64_t total = 0;
  std::size_t refused = 0;
  std::vector<Work> chunk;
  std::vector<std::size_t> line_of;  // each work's input line
  auto count = [&](const nlohmann::json& line) {
    ++total;
    ++by_decision[line["decision"].get<std::string>()];
    if (line.contains("channel")) ++by_channel[line["channel"].get<std::string>()];
    if (line.contains("reason")) ++by_reason[line["reason"].get<std::string>()];
  };
  // The run's stages in the run's order, without claiming, sending or writing: parse, resolve,
  // state, decide, and for a send the render (a template that fails is the run's dead letter).
  auto run_chunk = [&] {
    for (Work& w : chunk) gate.parse(w);
    std::vector<redis::Command> cmds;
    auto spans = gate.resolve_commands(chunk, /*claim=*/false, cmds);
    auto replies = redis.exec(cmds);
    gate.resolve_apply(chunk, false, spans, replies);
    cmds.clear();
    spans = gate.state_commands(chunk, now, cmds);
    replies = redis.exec(cmds);
    gate.state_apply(chunk, spans, replies);
    gate.decide_batch(chunk, now);
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      Work& w = chunk[i];
      gate.prepare(w, now);
      nlohmann::json line;
      if (!w.msg) {  // not a message at all: named by its line
        BadLine bad{line_of[i], readable_id(w.payload), w.reason, w.detail};
        report(bad);
        ++refused;
        line = explain_json(bad);
      } else {
        line = gate.explain_line(w);
      }
      if (o.summary)
        count(line);
      else
        std::printf("%s\n", line.dump().c_str());
    }
    chunk.clear();
    line_of.clear();
  };
  std::string error;
  bool ok = for_each_line(
      o.file,
      [&](std::string_view line, std::size_t number) {
        Work w;
        w.payload = std::string(line);
        chunk.push_back(std::move(w));
        line_of.push_back(number);
        if (chunk.size() >= 1000) run_chunk();
      },
      error);
  if (!chunk.empty()) run_chunk();
  if (!ok) throw std::runtime_error(error);
  if (o.summary && ::isatty(STDOUT_FILENO) != 0) {
    // On a terminal, a table a person reads before a campaign; piped, the JSON a script reads.
    std::printf("%-48s %8lld\n", "messages", static_cast<long long>(total));
    for (const auto& [title, counts] :
         {std::pair{"decision", &by_decision}, std::pair{"channel", &by_channel},
          std::pair{"reason", &by_reason}}) {
      if (counts->empty()) continue;
      std::printf("\n%s\n", title);
      for (const auto& [name, n] : *counts)
        std::printf("  %-46s %8lld\n", name.c_str(), static_cast<long long>(n));
    }
  } else if (o.summary) {
    std::printf("%s\n", nlohmann::json({{"messages", total},
                                        {"decisions", by_decision},
                                        {"channels", by_channel},
                                        {"reasons", by_reason}})
                            .dump()
                            .c_str());
  }
  return refused == 0 ? 0 : 1;
}

struct RenderOptions {
  std::string name, channel, locale = "ja", data_file, templates_dir;
  bool json = false;
};

int render(const Common& common, const RenderOptions& o) {
  auto ch = parse_channel(o.channel);
  if (!ch) throw std::runtime_error("--channel must be email, sms, push or line: " + o.channel);
  Runtime rt = open_runtime(common.config_file, Needs{true, false});
  if (!o.templates_dir.empty()) rt.config.templates.dir = o.templates_dir;
  rt.catalog = templates::Catalog::load(config::resolve_shipped(rt.config.templates.dir),
                                        rt.template_options());
  const templates::Template* t = rt.catalog->find(o.name, o.locale);
  if (!t) throw std::runtime_error("no template named " + o.name);
  if (!t->has_channel(*ch)) throw std::runtime_error(o.name + " has no " + o.channel + " parts");
  nlohmann::json data = nlohmann::json::object();
  if (!o.data_file.empty()) {
    std::ifstream in(o.data_file);
    if (!in) throw std::runtime_error(o.data_file + ": cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    data = nlohmann::json::parse(ss.str(), nullptr, false);
    if (!data.is_object()) throw std::runtime_error(o.data_file + ": must hold one JSON object");
  }
  // What the run fills in, for the operator as sender and a recipient without a zone; the
  // preview token is as long as a real one (34 characters), so a preview is as wide as a send.
  Message preview;
  preview.id = "preview";
  preview.sender = "operator";
  preview.data = std::move(data);
  const nlohmann::json injected = injected_values(
      rt, preview, *t, rt.config.unsubscribe.base_url + "PREVIEW-TOKEN-xxxxxxxxxxxxxxxxxxxx",
      rt.policy->default_zone());
  auto result = t->render(*ch, preview.data, injected);
  if (auto* err = std::get_if<templates::RenderError>(&result))
    throw std::runtime_error(err->reason + ": " + err->detail);
  const auto& r = std::get<templates::Rendered>(result);
  std::vector<std::pair<std::string, const std::string*>> parts;
  switch (*ch) {
    case Channel::email:
      parts = {{"email.subject", &r.email_subject},
               {"email.txt", &r.email_text},
               {"email.html", &r.email_html}};
      break;
    case Channel::sms:
      parts = {{"sms.txt", &r.sms_text}};
      break;
    case Channel::push:
      parts = {{"push.title", &r.push_title}, {"push.body", &r.push_body}};
      break;
    case Channel::line:
      parts = {{"line.txt", &r.line_text}};
      break;
  }
  if (o.json) {
    nlohmann::json j;
    j["parts"] = nlohmann::json::object();
    for (const auto& [name, text] : parts) j["parts"][name] = *text;
    if (*ch == Channel::sms) {
      auto c = templates::count_sms(r.sms_text);
      j["sms"] = {{"encoding", templates::to_string(c.encoding)},
                  {"units", c.units},
                  {"segments", c.segments}};
    }
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  for (const auto& [name, text] : parts) std::printf("--- %s\n%s\n", name.c_str(), text->c_str());
  if (*ch == Channel::sms) {
    auto c = templates::count_sms(r.sms_text);
    std::printf("--- sms: %s, %zu units, %zu segment%s\n",
                std::string(templates::to_string(c.encoding)).c_str(), c.units, c.segments,
                c.segments == 1 ? "" : "s");
  }
  return 0;
}

}  // namespace

void add_check_verbs(CLI::App& app, const Common& common, Verbs& out) {
  auto* chk = app.add_subcommand(
      "check", "validate config, policy and templates; non-zero exit with the reasons");
  auto connect = std::make_shared<bool>(false);
  chk->add_flag("--connect", *connect,
                "also connect to every configured provider (TLS handshake; SMTP up to AUTH), "
                "sending nothing");
  out.push_back({chk, [&common, connect] { return check(common, *connect); }});

  auto* exp = app.add_subcommand(
      "explain", "print the decision for each message, without sending or counting");
  auto eo = std::make_shared<ExplainOptions>();
  exp->add_option("--now", eo->now, "fix the clock (RFC 3339) for quiet hours and expiry");
  exp->add_flag("--summary", eo->summary, "print counts per decision, channel and reason instead");
  exp->add_option("file", eo->file, "file of JSON lines, or - for stdin");
  out.push_back({exp, [&common, eo] { return explain(common, *eo); }});

  auto* ren = app.add_subcommand("render", "preview a rendered message");
  auto ro = std::make_shared<RenderOptions>();
  ren->add_option("template", ro->name, "template name, e.g. reservation.reminder")->required();
  ren->add_option("--channel", ro->channel, "email, sms, push or line")->required();
  ren->add_option("--locale", ro->locale, "locale (default ja)");
  ren->add_option("--data", ro->data_file, "JSON file with the template's data");
  ren->add_option("--templates", ro->templates_dir, "templates directory (default from config)");
  ren->add_flag("--json", ro->json, "print {\"parts\": {...}, \"sms\": {...}} for tools");
  out.push_back({ren, [&common, ro] { return render(common, *ro); }});
}

}  // namespace dispatcher::verbs
