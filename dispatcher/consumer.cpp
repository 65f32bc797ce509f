#include "dispatcher/consumer.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <random>

#include "dispatcher/scheduler.hpp"
#include "store/pg/async_connection.hpp"
#include "store/redis/async_client.hpp"

namespace dispatcher {

namespace asio = boost::asio;

namespace {

// On a graceful exit: this consumer leaves the group, and so does any other that holds
// nothing and has not read for `idle` ms (one that was killed and whose entries another
// consumer has claimed since). Only consumers without pending entries are removed, and in one
// script, so no entry can lose its owner; a live consumer that happened to hold nothing is
// simply re-created by its next read.
constexpr const char* leave_group_script = R"lua(
local removed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
  if info['pending'] == 0 and (info['name'] == ARGV[2] or info['idle'] >= tonumber(ARGV[3])) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    removed = removed + 1
  end
end
return removed
)lua";

}  // namespace
using redis::cmd;
using redis::Command;
using redis::Reply;

struct Consumer::Io {
  explicit Io(asio::io_context& io)
      : claim_timer(io), schedule_timer(io), signals(io, SIGTERM, SIGINT) {}
  std::unique_ptr<redis::AsyncClient> reader, writer;
  std::unique_ptr<pg::AsyncConnection> db;  // the system of record: each batch's audit rows
  asio::steady_timer claim_timer, schedule_timer;
  asio::signal_set signals;
  std::mt19937_64 rng{std::random_device{}()};
};

struct Consumer::Batch {
  std::vector<Work> works;
  Gate::ReplySpans spans;  // of the stage whose round trip is under way
  std::size_t sends_pending = 0;
  TimePoint now;
};

Consumer::Consumer(asio::io_context& io, const Runtime& rt, ProviderSet& providers, NowFn now,
                   ConsumerOptions opts)
    : io_(io),
      rt_(rt),
      gate_(rt),
      retry_(rt.retry_policy()),
      providers_(providers),
      now_(std::move(now)),
      opts_(std::move(opts)),
      io_state_(std::make_unique<Io>(io)) {}

Consumer::~Consumer() = default;

std::string Consumer::start() {
  try {
    // Start-up, before the loop runs: the schema brought up to date, then the loop's connection.
    rt_.database(true);
    io_state_->db = pg::AsyncConnection::connect(io_, rt_.database_url());
  } catch (const std::exception& e) {
    return e.what();
  }
  std::error_code err;
  auto endpoint = rt_.redis_endpoint();
  io_state_->reader = redis::AsyncClient::connect(io_, endpoint, err);
  if (!io_state_->reader) return err.message();
  io_state_->writer = redis::AsyncClient::connect(io_, endpoint, err);
  if (!io_state_->writer) return err.message();
  auto self = shared_from_this();
  // Create the group at the stream's start, so messages enqueued before any consumer ran count.
  io_state_->writer->exec(
      {cmd("XGROUP", "CREATE", rt_.keys.stream(), rt_.config.consumer.group, "0", "MKSTREAM")},
      [self](std::error_code e, std::vector<Reply> r) {
        if (e) {
          spdlog::error("{}", e.message());
          self->exit_code_ = 1;
          return self->stop();
        }
        if (r[0].is_error() && r[0].str.rfind("BUSYGROUP", 0) != 0) {
          spdlog::error("redis: {}", r[0].str);
          self->exit_code_ = 1;
          return self->stop();
        }
        self->do_schedule();
        self->do_claim();
        self->do_read();
      });
  io_state_->signals.async_wait([self](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: draining in-flight work", sig);
    self->stop();
  });
  spdlog::info("consumer {} reading {} as group {}", opts_.name, rt_.keys.stream(),
               rt_.config.consumer.group);
  return {};
}

void Consumer::stop() {
  if (stopping_) return maybe_done();
  stopping_ = true;
  io_state_->claim_timer.cancel();
  io_state_->schedule_timer.cancel();
  boost::system::error_code ignored;
  io_state_->signals.cancel(ignored);
  // A read blocked in XREADGROUP is let finish (at most block_ms): Redis may already have
  // handed us entries, and dropping the reply would leave them pending until another
  // consumer's visibility timeout. Whatever it returns is processed before we exit.
  maybe_done();
}

void Consumer::maybe_done() {
  if (!stopping_ || reading_ || in_flight_ > 0 || leaving_) return;
  leaving_ = true;
  // Released outside any hiredis callback we may be in.
  auto release = [self = shared_from_this()] {
    asio::post(self->io_, [self] {
      self->io_state_->reader.reset();
      self->io_state_->writer.reset();
      self->io_state_->db.reset();
      if (self->opts_.on_stopped) self->opts_.on_stopped();
    });
  };
  if (!io_state_->writer) return release();
  // Idle longer than the visibility timeout and holding nothing: its entries were claimed.
  const long long idle = rt_.config.consumer.visibility_timeout_ms;
  io_state_->writer->exec({cmd("EVAL", leave_group_script, "1", rt_.keys.stream(),
                               rt_.config.consumer.group, opts_.name, std::to_string(idle))},
                          [release](std::error_code err, std::vector<Reply> r) {
                            if (err || r.empty() || r[0].is_error())
                              spdlog::warn("leaving the consumer group: {}",
                                           !err && !r.empty() ? r[0].str : err.message());
                            release();
                          });
}

void Consumer::do_read() {
  if (stopping_ || reading_ || in_flight_ >= opts_.max_batches_in_flight || !io_state_->reader)
    return;
  reading_ = true;
  io_state_->reader->exec(
      {cmd("XREADGROUP", "GROUP", rt_.config.consumer.group, opts_.name, "COUNT",
           std::to_string(rt_.config.consumer.batch_size), "BLOCK",
           std::to_string(rt_.config.consumer.block_ms), "STREAMS", rt_.keys.stream(), ">")},
      [self = shared_from_this()](std::error_code err, std::vector<Reply> r) {
        self->on_read(err, std::move(r));
      });
}

std::vector<Work> Consumer::entries_to_work(const Reply& entries) {
  std::vector<Work> works;
  works.reserve(entries.elements.size());
  for (const Reply& e : entries.elements) {
    if (e.elements.size() < 2) continue;
    Work w;
    w.entry_id = e.elements[0].str;
    const Reply& fields = e.elements[1];
    bool has_payload = false;
    for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
      const std::string& f = fields.elements[i].str;
      if (f == "payload") {
        w.payload = fields.elements[i + 1].str;
        has_payload = true;
      } else if (f == "attempts") {
        w.attempts = std::atoi(fields.elements[i + 1].str.c_str());
      }
    }
    if (!has_payload) {
      // An entry without a payload (trimmed, or written by something else): dead-letter it.
      w.fate = Fate::dead;
      w.reason = "invalid_message:missing_payload";
      w.detail = "stream entry has no payload field";
    }
    works.push_back(std::move(w));
  }
  return works;
}

void Consumer::on_read(std::error_code err, std::vector<Reply> replies) {
  reading_ = false;
  if (err && stopping_) return maybe_done();
  if (err) {
    spdlog::error("{}", err.message());
    exit_code_ = 1;
    return stop();
  }
  const Reply& r = replies[0];
  if (r.is_error()) {
    spdlog::error("redis: XREADGROUP: {}", r.str);
    exit_code_ = 1;
    return stop();
  }
  if (r.is_nil() || r.elements.empty() || r.elements[0].elements.size() < 2 ||
      r.elements[0].elements[1].elements.empty()) {
    if (stopping_) return maybe_done();
    if (opts_.until_idle && in_flight_ == 0) return check_idle();
    return do_read();
  }
  process(entries_to_work(r.elements[0].elements[1]));
  if (stopping_) return maybe_done();
  do_read();
}

void Consumer::check_idle() {
  io_state_->writer->exec(
      {cmd("XPENDING", rt_.keys.stream(), rt_.config.consumer.group),
       cmd("ZCOUNT", rt_.keys.scheduled(), "-inf", std::to_string(to_epoch_ms(now_())))},
      [self = shared_from_this()](std::error_code err, std::vector<Reply> r) {
        if (self->stopping_) return self->maybe_done();
        const bool nothing_pending =
            !err && !r[0].elements.empty() && r[0].elements[0].integer == 0;
        const bool nothing_due = !err && r[1].type == Reply::Type::integer && r[1].integer == 0;
        if (nothing_pending && nothing_due && self->in_flight_ == 0) {
          spdlog::info("idle: nothing queued, in flight or due");
          return self->stop();
        }
        self->do_read();
      });
}

void Consumer::do_schedule() {
  if (stopping_) return;
  // The same tick is the consumer's heartbeat (for `serve`'s /healthz and /metrics).
  io_state_->writer->exec(
      {move_due_command(rt_.keys, now_(), 1000),
       cmd("ZADD", rt_.keys.consumers(), std::to_string(to_epoch_ms(system_now())), opts_.name),
       cmd("ZREMRANGEBYSCORE", rt_.keys.consumers(), "-inf",
           std::to_string(to_epoch_ms(system_now()) - 86400000))},
      [self = shared_from_this()](std::error_code err, std::vector<Reply> r) {
        if (self->stopping_) return;
        long long moved = !err && !r.empty() ? r[0].integer : 0;
        if (err || (!r.empty() && r[0].is_error()))
          spdlog::warn("scheduler: {}", !err ? r[0].str : err.message());
        auto delay = std::chrono::milliseconds(
            moved >= 1000 ? 0 : self->rt_.config.consumer.scheduler_interval_ms);
        self->io_state_->schedule_timer.expires_after(delay);
        self->io_state_->schedule_timer.async_wait([self](boost::system::error_code ec) {
          if (!ec) self->do_schedule();
        });
      });
}

void Consumer::do_claim() {
  if (stopping_) return;
  const int vis = rt_.config.consumer.visibility_timeout_ms;
  io_state_->claim_timer.expires_after(std::chrono::milliseconds(std::max(50, vis / 2)));
  io_state_->claim_timer.async_wait([self = shared_from_this(), vis](boost::system::error_code ec) {
    if (ec || self->stopping_) return;
    self->io_state_->writer->exec(
        {cmd("XAUTOCLAIM", self->rt_.keys.stream(), self->rt_.config.consumer.group,
             self->opts_.name, std::to_string(vis), "0-0", "COUNT",
             std::to_string(self->rt_.config.consumer.batch_size))},
        [self](std::error_code err, std::vector<Reply> r) {
          if (self->stopping_) return self->maybe_done();
          if (!err && r[0].type == Reply::Type::array && r[0].elements.size() >= 2) {
            auto works = entries_to_work(r[0].elements[1]);
            if (!works.empty()) {
              spdlog::info("claimed {} messages a stopped consumer left pending", works.size());
              self->process(std::move(works));
            }
          } else if (err || r[0].is_error()) {
            spdlog::warn("claim: {}", !err ? r[0].str : err.message());
          }
          self->do_claim();
        });
  });
}

void Consumer::process(std::vector<Work> works) {
  ++in_flight_;
  ++batches_;
  auto b = std::make_shared<Batch>();
  b->works = std::move(works);
  b->now = now_();
  for (Work& w : b->works)
    if (w.fate == Fate::pending) gate_.parse(w);
  std::vector<Command> cmds;
  b->spans = gate_.resolve_commands(b->works, /*claim=*/true, cmds);
  io_state_->writer->exec(
      std::move(cmds), [self = shared_from_this(), b](std::error_code err, std::vector<Reply> r) {
        self->on_resolved(b, err, std::move(r));
      });
}

void Consumer::on_resolved(std::shared_ptr<Batch> b, std::error_code err,
                           std::vector<Reply> replies) {
  if (err) return batch_failed(b, err);
  gate_.resolve_apply(b->works, true, b->spans, replies);
  std::vector<Command> cmds;
  b->spans = gate_.state_commands(b->works, b->now, cmds);
  io_state_->writer->exec(
      std::move(cmds), [self = shared_from_this(), b](std::error_code err, std::vector<Reply> r) {
        self->on_state(b, err, std::move(r));
      });
}

void Consumer::on_state(std::shared_ptr<Batch> b, std::error_code err, std::vector<Reply> replies) {
  if (err) return batch_failed(b, err);
  gate_.state_apply(b->works, b->spans, replies);
  // What this consumer learnt of spent channels may not have reached Redis yet.
  for (Work& w : b->works)
    for (Channel c : all_channels)
      if (auto& u = w.exhausted_until[index(c)];
          spent_until_[index(c)] && (!u || *u < *spent_until_[index(c)]))
        u = spent_until_[index(c)];
  gate_.decide_batch(b->works, b->now);
  for (Work& w : b->works) gate_.prepare(w, b->now);
  send_all(std::move(b));
}

void Consumer::send_all(std::shared_ptr<Batch> b) {
  std::vector<Work*> to_send;
  for (Work& w : b->works) {
    if (w.fate != Fate::pending) continue;
    channels::Provider* p = providers_[w.envelope.channel];
    if (w.redelivered && p->already_accepted(w.msg->sender, w.msg->id)) {
      // A consumer died after the provider took it but before it was recorded.
      w.fate = Fate::sent;
      w.outcome.provider = p->name();
      w.outcome.provider_message_id = "already-accepted";
      continue;
    }
    to_send.push_back(&w);
  }
  b->sends_pending = to_send.size();
  if (to_send.empty()) return finish(std::move(b));
  for (Work* w : to_send) {
    providers_[w->envelope.channel]->send(w->envelope,
                                          [self = shared_from_this(), b, w](channels::Outcome o) {
                                            self->on_outcome(b, *w, std::move(o));
                                          });
  }
}

void Consumer::on_outcome(const std::shared_ptr<Batch>& b, Work& w, channels::Outcome o) {
  if (o.exhausted_until) {
    // The channel is spent (LINE's monthly quota): no blind retries; this consumer passes it over
    // from now on, and this message goes on by its next channel, decided again.
    const Channel c = w.envelope.channel;
    const TimePoint until = std::chrono::floor<std::chrono::milliseconds>(*o.exhausted_until);
    auto& known = spent_until_[index(c)];
    if (!known || *known < until) known = until;
    spdlog::warn("{}: channel {} is spent until {}; messages fall over to their next channel",
                 o.provider, to_string(c), format_rfc3339(until));
    if (gate_.fall_over(w, until, now_())) {
      providers_[w.envelope.channel]->send(
          w.envelope, [self = shared_from_this(), b, &w](channels::Outcome o2) {
            self->on_outcome(b, w, std::move(o2));
          });
      return;
    }
    if (--b->sends_pending == 0) finish(b);
    return;
  }
  w.outcome = std::move(o);
  Delivery d = fate_of(w.outcome, w.attempts, retry_, io_state_->rng);
  w.fate = d.fate;
  w.retry_delay = d.retry_delay;
  w.suppress = d.suppress;
  if (d.fate == Fate::dead) {
    w.reason = std::move(d.reason);
    w.detail = std::move(d.detail);
  }
  if (--b->sends_pending == 0) finish(b);
}

void Consumer::finish(std::shared_ptr<Batch> b) {
  auto cmds = std::make_shared<std::vector<Command>>();
  AuditBatch audit;
  gate_.finish_commands(b->works, now_(), *cmds, audit);
  if (audit.empty()) return acknowledge(std::move(b), std::move(*cmds));
  // The audit rows first: an entry is acknowledged only once its decision is recorded. A crash
  // in between leaves the entries pending; whoever claims them writes no row twice.
  io_state_->db->exec(AuditBatch::insert_sql(), {audit.param()},
                      [self = shared_from_this(), b, cmds](std::error_code err, pg::Rows) {
                        if (err) return self->batch_failed(b, err);
                        self->acknowledge(b, std::move(*cmds));
                      });
}

void Consumer::acknowledge(std::shared_ptr<Batch> b, std::vector<Command> cmds) {
  io_state_->writer->exec(
      std::move(cmds), [self = shared_from_this(), b](std::error_code err, std::vector<Reply> r) {
        if (err) return self->batch_failed(b, err);
        if (auto e = redis::first_error({}, r); !e.empty()) spdlog::error("recording batch: {}", e);
        for (const Work& w : b->works) self->stats_.add(w);
        --self->in_flight_;
        if (self->stopping_) return self->maybe_done();
        self->do_read();
      });
}

void Consumer::batch_failed(const std::shared_ptr<Batch>& b, std::error_code err) {
  // Nothing was acknowledged: the entries stay pending and another consumer (or this one,
  // after the visibility timeout) claims them.
  spdlog::error("batch of {} left pending: {}", b->works.size(), err.message());
  --in_flight_;
  exit_code_ = 1;
  stop();
}

}  // namespace dispatcher
