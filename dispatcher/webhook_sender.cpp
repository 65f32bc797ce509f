#include "dispatcher/webhook_sender.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "codec/hex.hpp"
#include "codec/hmac.hpp"
#include "store/webhook_events.hpp"

namespace dispatcher {

namespace asio = boost::asio;
using json = nlohmann::json;

namespace {

constexpr int events_per_round = 100;

}  // namespace

std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds,
                              std::string_view body) {
  const std::string t = std::to_string(unix_seconds);
  std::string signed_text;
  signed_text.reserve(t.size() + 1 + body.size());
  signed_text.append(t).append(".").append(body);
  return "t=" + t + ",v1=" + to_hex(hmac_sha256(secret, signed_text));
}

std::chrono::milliseconds webhook_retry_delay(int attempts, const config::Config::Webhooks& w) {
  long long ms = w.retry_first_ms;
  for (int i = 1; i < attempts && ms < w.retry_max_ms; ++i) ms *= 2;
  return std::chrono::milliseconds(std::min<long long>(ms, w.retry_max_ms));
}

// One round: the events leased, and what became of each.
struct WebhookSender::Round {
  struct Event {
    std::string event_id, sender, body;
    int attempts = 0;
    TimePoint created;
  };
  std::vector<Event> events;
  std::size_t answers_pending = 0;
  json accepted = json::array(), given_up = json::array(), retry = json::array();
};

WebhookSender::WebhookSender(asio::io_context& io, const Runtime& rt, NowFn now)
    : io_(io), rt_(rt), now_(std::move(now)), timer_(io) {}

std::string WebhookSender::start() {
  try {
    db_ = pg::AsyncConnection::connect(io_, rt_.database_url());
  } catch (const std::exception& e) {
    return e.what();
  }
  http_ = std::make_unique<channels::curl::Multi>(io_);
  asio::post(io_, [self = shared_from_this()] { self->round(); });
  return {};
}

void WebhookSender::stop() {
  stopping_ = true;
  timer_.cancel();
  if (!busy_) close();
}

void WebhookSender::drain_then_stop() {
  draining_ = true;
  if (busy_) return;  // the round under way decides
  timer_.cancel();
  round();
}

void WebhookSender::close() {
  if (closed_) return;
  closed_ = true;
  // Released outside any callback of theirs.
  asio::post(io_, [self = shared_from_this()] {
    self->db_.reset();
    self->http_.reset();
  });
}

void WebhookSender::round() {
  if (stopping_ || busy_ || closed_) return;
  busy_ = true;
  const TimePoint now = now_();
  // Leased for longer than one attempt can take: a process that dies mid-round leaves its
  // events to the next round of anyone after that.
  const auto lease = std::chrono::milliseconds(rt_.config.webhooks.timeout_ms) * 3;
  db_->exec(claim_webhook_events_sql(),
            {format_rfc3339(now), format_rfc3339(now + lease), std::to_string(events_per_round)},
            [self = shared_from_this()](std::error_code ec, pg::Rows rows) {
              if (ec) {
                spdlog::warn("webhooks: the database: {}", ec.message());
                self->busy_ = false;
                return self->next(false, false);
              }
              auto r = std::make_shared<Round>();
              for (const auto& row : rows.rows) {
                if (row.size() < 5 || !row[0] || !row[1] || !row[2]) continue;
                Round::Event e{*row[0], *row[1], *row[2], row[3] ? std::stoi(*row[3]) : 1,
                               from_epoch_ms(row[4] ? std::stoll(*row[4]) : 0)};
                r->events.push_back(std::move(e));
              }
              if (r->events.empty()) {
                self->busy_ = false;
                return self->next(false, false);
              }
              self->deliver(r);
            });
}

void WebhookSender::deliver(const std::shared_ptr<Round>& r) {
  const auto& w = rt_.config.webhooks;
  r->answers_pending = r->events.size();
  for (std::size_t i = 0; i < r->events.size(); ++i) {
    const auto& e = r->events[i];
    auto failed = [self = shared_from_this(), r, i](const std::string& why) {
      auto& ev = r->events[i];
      const auto& cfg = self->rt_.config.webhooks;
      const TimePoint now = self->now_();
      if (now - ev.created >= std::chrono::hours(cfg.give_up_hours)) {
        spdlog::error("webhooks: event {} for {} given up after {} attempts over {} h: {}",
                      ev.event_id, ev.sender, ev.attempts, cfg.give_up_hours, why);
        r->given_up.push_back(ev.event_id);
      } else {
        const auto due = now + webhook_retry_delay(ev.attempts, cfg);
        spdlog::warn("webhooks: event {} for {} not accepted (attempt {}): {}; again at {}",
                     ev.event_id, ev.sender, ev.attempts, why, format_rfc3339(due));
        r->retry.push_back(
            {{"event_id", ev.event_id}, {"next_at", format_rfc3339(due)}, {"error", why}});
      }
    };
    const auto target = rt_.webhooks.find(e.sender);
    if (target == rt_.webhooks.end()) {
      // Its webhook left the config: kept (it may come back) until the give-up time.
      failed("no webhook is configured for " + e.sender);
      if (--r->answers_pending == 0) settle(r);
      continue;
    }
    channels::curl::Request req;
    req.url = target->second.url;
    req.method = "POST";
    req.body = e.body;
    const auto t = std::chrono::duration_cast<std::chrono::seconds>(now_().time_since_epoch());
    req.headers = {
        "Content-Type: application/json", "User-Agent: dispatcher-webhooks/1",
        "Dispatcher-Signature: " + webhook_signature(target->second.secret, t.count(), e.body)};
    req.timeout = std::chrono::milliseconds(w.timeout_ms);
    req.max_response_bytes = 64 * 1024;
    http_->perform(std::move(req), [self = shared_from_this(), r, i,
                                    failed](channels::curl::Response res) {
      if (res.code == CURLE_OK && res.status >= 200 && res.status < 300) {
        r->accepted.push_back(r->events[i].event_id);
      } else if (res.code != CURLE_OK) {
        failed(res.error_text.empty() ? std::string(curl_easy_strerror(res.code)) : res.error_text);
      } else {
        failed(fmt::format("HTTP {}", res.status));
      }
      if (--r->answers_pending == 0) self->settle(r);
    });
  }
}

void WebhookSender::settle(const std::shared_ptr<Round>& r) {
  counts_.delivered += static_cast<long long>(r->accepted.size());
  counts_.given_up += static_cast<long long>(r->given_up.size());
  counts_.retried += static_cast<long long>(r->retry.size());
  json gone = r->accepted;
  for (const auto& id : r->given_up) gone.push_back(id);
  auto self = shared_from_this();
  // The connection runs statements in order: the last one's answer ends the round.
  auto done = [self, r](std::error_code ec, pg::Rows) {
    if (ec) spdlog::warn("webhooks: the database: {}", ec.message());
    self->busy_ = false;
    self->next(true, r->events.size() == static_cast<std::size_t>(events_per_round));
  };
  if (!r->retry.empty()) {
    if (!gone.empty())
      db_->exec(delete_webhook_events_sql(), {gone.dump()}, [](std::error_code ec, pg::Rows) {
        if (ec) spdlog::warn("webhooks: the database: {}", ec.message());
      });
    db_->exec(retry_webhook_events_sql(), {r->retry.dump()}, done);
  } else {
    db_->exec(delete_webhook_events_sql(), {gone.dump()}, done);
  }
}

void WebhookSender::next(bool found_any, bool full) {
  if (stopping_) return close();
  // Draining: done once a round finds nothing due (what failed waits for its retry time).
  if (draining_ && !found_any) return close();
  if (full || (draining_ && found_any)) {
    asio::post(io_, [self = shared_from_this()] { self->round(); });
    return;
  }
  timer_.expires_after(std::chrono::milliseconds(rt_.config.webhooks.poll_ms));
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->round();
  });
}

}  // namespace dispatcher
