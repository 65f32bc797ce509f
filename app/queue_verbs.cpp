// run, enqueue, cancel: putting messages on the queue, taking them off, and consuming it.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cstdio>

#include "app/bad_lines.hpp"
#include "app/verbs.hpp"
#include "codec/mask.hpp"
#include "config/logging.hpp"
#include "config/private_files.hpp"
#include "dispatcher/cancellation.hpp"
#include "dispatcher/consumer.hpp"
#include "dispatcher/enqueue.hpp"
#include "dispatcher/providers.hpp"
#include "dispatcher/runtime.hpp"
#include "dispatcher/scheduler.hpp"
#include "dispatcher/webhook_sender.hpp"
#include "store/message_status.hpp"
#include "store/redis/sync_client.hpp"

namespace dispatcher::verbs {

namespace {

std::string consumer_name() {
  char host[256] = "host";
  ::gethostname(host, sizeof host - 1);
  return fmt::format("{}-{}", host, ::getpid());
}

void print_summary(const Tally& s, const Runtime& rt) {
  auto line = [&s](const char* label, const char* outcome) {
    std::string parts;
    if (auto it = s.counts().find(outcome); it != s.counts().end())
      for (const auto& [k, v] : it->second)
        parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", k, v);
    std::fprintf(stderr, "  %-13s %lld%s%s%s\n", label, static_cast<long long>(s.total(outcome)),
                 parts.empty() ? "" : " (", parts.c_str(), parts.empty() ? "" : ")");
  };
  std::fprintf(stderr, "summary:\n");
  line("sent", "sent");
  line("denied", "denied");
  line("deferred", "deferred");
  line("dead-letter", "dead_letter");
  line("failed", "failed");
  std::fprintf(stderr, "  %-13s %lld\n  %-13s %lld\n", "duplicates",
               static_cast<long long>(s.total("duplicate")), "retries",
               static_cast<long long>(s.total("retried")));
  bool outbox = !rt.config.channels.node || rt.config.channels.node.IsNull();
  if (outbox)
    std::fprintf(stderr, "  outbox        %s/outbox/ (email/*.eml, sms.jsonl, push.jsonl)\n",
                 rt.config.data_dir.c_str());
}

int run(const Common& common, bool until_idle, const std::string& start_at) {
  Runtime rt = open_runtime(common.config_file);
  setup_logging(rt.config.log_level, &mask_personal);
  config::warn_readable_by_others(rt.config);
  boost::asio::io_context io;
  ProviderSet providers = build_providers(io, rt);
  ConsumerOptions opts;
  opts.until_idle = until_idle;
  opts.name = consumer_name();
  NowFn now = &system_now;
  if (!start_at.empty()) {
    // A rehearsal clock: starts at --now and runs at real speed (quiet hours, schedules, caps).
    auto t = parse_rfc3339(start_at);
    if (!t) throw std::runtime_error("--now is not an RFC 3339 timestamp: " + start_at);
    const auto offset = *t - system_now();
    now = [offset] { return system_now() + offset; };
  }
  // Sender webhooks go out from here, beside the consumer that writes most of their events.
  auto webhooks = std::make_shared<WebhookSender>(io, rt, now);
  opts.on_stopped = [webhooks, until_idle] {
    if (until_idle)
      webhooks->drain_then_stop();
    else
      webhooks->stop();
  };
  auto consumer = std::make_shared<Consumer>(io, rt, providers, now, opts);
  if (auto err = consumer->start(); !err.empty()) throw std::runtime_error(err);
  if (auto err = webhooks->start(); !err.empty()) throw std::runtime_error(err);
  io.run();
  print_summary(consumer->stats(), rt);
  if (const auto& w = webhooks->counts(); w.delivered + w.retried + w.given_up > 0)
    std::fprintf(stderr, "  %-13s %lld delivered, %lld to retry, %lld given up\n", "webhooks",
                 w.delivered, w.retried, w.given_up);
  return consumer->exit_code();
}

struct ProgressLine {
  bool tty = ::isatty(STDERR_FILENO) != 0;
  void show(std::size_t n) const {
    if (tty) std::fprintf(stderr, "\renqueued %zu", n);
  }
  void end() const {
    if (tty) std::fprintf(stderr, "\r");
  }
};

int enqueue(const Common& common, const std::string& file) {
  // The policy and templates are the vocabulary a line is validated against (purposes,
  // template names, categories), exactly as the consumer validates it.
  Runtime rt = open_runtime(common.config_file);
  const MessageVocabulary vocab = rt.vocabulary();
  auto redis = redis::SyncClient::connect(rt.redis_endpoint());
  const TimePoint now = system_now();
  const std::int64_t ttl_ms = rt.config.consumer.idempotency_ttl_days * 86400000LL;
  std::vector<redis::Command> pending;
  std::size_t total = 0, scheduled = 0, refused = 0;
  ProgressLine progress;
  auto flush = [&] {
    if (pending.empty()) return;
    auto replies = redis.exec(pending);
    if (auto err = redis::first_error(pending, replies); !err.empty())
      throw std::runtime_error("redis: " + err);
    pending.clear();
    progress.show(total);
  };
  std::string error;
  bool ok = for_each_line(
      file,
      [&](std::string_view line, std::size_t number) {
        auto parsed = parse_message(line, vocab);
        if (auto* bad = std::get_if<Invalid>(&parsed)) {
          progress.end();
          report(BadLine{number, readable_id(line), bad->reason, bad->detail});
          ++refused;
          return;
        }
        const Message& m = std::get<Message>(parsed);
        ++total;
        if (enqueue_commands(rt.keys, m.sender, m.id, m.send_at, line, now, ttl_ms, pending))
          ++scheduled;
        if (pending.size() >= 1000) flush();
      },
      error);
  flush();
  progress.end();
  if (!ok) throw std::runtime_error(error);
  std::fprintf(stderr, "enqueued %zu message%s (%zu scheduled for later)", total,
               total == 1 ? "" : "s", scheduled);
  if (refused > 0) std::fprintf(stderr, "; refused %zu line%s", refused, refused == 1 ? "" : "s");
  std::fprintf(stderr, "\n");
  return refused == 0 ? 0 : 1;
}

// Ids are per sender: whose this one is (DESIGN.md: --sender only when two senders used it).
// Empty, with the reason printed, when it cannot be told.
std::string sender_of(redis::SyncClient& redis, const Runtime& rt, const std::string& id,
                      std::string sender) {
  if (!sender.empty()) return sender;
  auto senders = redis.run(redis::cmd("SMEMBERS", rt.keys.senders_of(id)));
  if (senders.is_error()) throw std::runtime_error("redis: " + senders.str);
  std::vector<std::string> used;
  for (const auto& e : senders.elements) used.push_back(e.str);
  std::sort(used.begin(), used.end());
  if (used.size() == 1) return used.front();
  if (used.size() > 1) {
    std::string list;
    for (const auto& u : used) list += (list.empty() ? "" : ", ") + u;
    std::fprintf(stderr, "dispatcher: %s was used by %zu senders (%s): name one with --sender\n",
                 id.c_str(), used.size(), list.c_str());
    return {};
  }
  std::fprintf(stderr,
               "dispatcher: no message %s has been seen in the last %d days (older ones: give "
               "--sender)\n",
               id.c_str(), rt.config.consumer.idempotency_ttl_days);
  return {};
}

int cancel(const Common& common, const std::string& id, std::string sender) {
  Runtime rt = open_runtime(common.config_file, Needs{true, false});
  auto redis = redis::SyncClient::connect(rt.redis_endpoint());
  const bool named = !sender.empty();
  sender = sender_of(redis, rt, id, sender);
  if (sender.empty()) return 1;
  if (named && redis.run(redis::cmd("SISMEMBER", rt.keys.senders_of(id), sender)).integer != 1) {
    std::fprintf(stderr, "dispatcher: no message %s from %s has been seen\n", id.c_str(),
                 sender.c_str());
    return 1;
  }
  auto r = redis.run(cancel_command(rt.keys, message_key(sender, id),
                                    rt.config.consumer.idempotency_ttl_days * 86400000LL));
  if (r.is_error()) throw std::runtime_error("redis: " + r.str);
  const std::string status = r.elements.empty() ? "" : r.elements[0].str;
  if (status == "cancelled") {
    // Taken from the scheduled set: its row is ours to write (a queued one's, the consumer's).
    if (auto audit = cancel_audit(rt, r, system_now()); !audit.empty()) {
      auto db = rt.database();
      db.exec(AuditBatch::insert_sql(), {audit.param()});
    }
    std::printf("cancelled %s\n", id.c_str());
    return 0;
  }
  if (status == "marked") {
    std::printf("%s was not scheduled; it will not be delivered if it is still queued\n",
                id.c_str());
    return 0;
  }
  if (status == "in_flight") {
    std::fprintf(stderr, "dispatcher: %s is being delivered right now and cannot be cancelled\n",
                 id.c_str());
    return 1;
  }
  std::fprintf(stderr, "dispatcher: %s was already decided (%s) and cannot be cancelled\n",
               id.c_str(), r.elements.size() > 1 ? r.elements[1].str.c_str() : "?");
  return 1;
}

int status(const Common& common, const std::string& id, std::string sender) {
  Runtime rt = open_runtime(common.config_file, Needs{false, false});
  auto redis = redis::SyncClient::connect(rt.redis_endpoint());
  sender = sender_of(redis, rt, id, sender);
  if (sender.empty()) return 1;
  auto db = rt.database();
  const pg::Rows records = db.exec(message_records_sql(), {sender, id});
  const auto queue = queue_status_commands(rt.keys, sender, id);
  const auto replies = redis.exec(queue);
  if (auto err = redis::first_error(queue, replies); !err.empty())
    throw std::runtime_error("redis: " + err);
  const auto s = status_of(sender, id, records, replies);
  if (!s) {
    std::fprintf(stderr, "dispatcher: no message %s from %s is known\n", id.c_str(),
                 sender.c_str());
    return 1;
  }
  std::printf("%s\n", to_json(*s).dump().c_str());
  return 0;
}

}  // namespace

void add_queue_verbs(CLI::App& app, const Common& common, Verbs& out) {
  auto* run_cmd = app.add_subcommand(
      "run", "consume the queue and send until SIGTERM/SIGINT, then drain and exit 0");
  auto until_idle = std::make_shared<bool>(false);
  run_cmd->add_flag("--until-idle", *until_idle,
                    "also stop once nothing is queued, in flight or due");
  auto start_at = std::make_shared<std::string>();
  run_cmd->add_option("--now", *start_at,
                      "start the clock at this RFC 3339 time (rehearsals and tests)");
  out.push_back(
      {run_cmd, [&common, until_idle, start_at] { return run(common, *until_idle, *start_at); }});

  auto* enq = app.add_subcommand("enqueue",
                                 "enqueue messages, one JSON object a line, from F or - (stdin)");
  auto file = std::make_shared<std::string>("-");
  enq->add_option("file", *file, "file of JSON lines, or - for stdin");
  out.push_back({enq, [&common, file] { return enqueue(common, *file); }});

  auto* can = app.add_subcommand("cancel", "cancel a scheduled message by its id");
  auto id = std::make_shared<std::string>();
  can->add_option("id", *id, "the message id")->required();
  auto sender = std::make_shared<std::string>();
  can->add_option("--sender", *sender,
                  "the sender whose id it is (needed only when two senders used the id)");
  out.push_back({can, [&common, id, sender] { return cancel(common, *id, *sender); }});

  auto* st = app.add_subcommand(
      "status",
      "where a message is now, as one JSON line (queued, scheduled, deferred, sent, denied, "
      "failed, dead, cancelled)\n  example: dispatcher status rsv-20261201-0001");
  auto st_id = std::make_shared<std::string>();
  st->add_option("id", *st_id, "the message id")->required();
  auto st_sender = std::make_shared<std::string>();
  st->add_option("--sender", *st_sender,
                 "the sender whose id it is (needed when two senders used the id, or for a "
                 "message older than the idempotency window)");
  out.push_back({st, [&common, st_id, st_sender] { return status(common, *st_id, *st_sender); }});
}

}  // namespace dispatcher::verbs
