// Delivering sender webhook events (DESIGN.md "Sender webhooks"), from `run`.
//
// Every webhooks.poll_ms the sender leases the events that are due (store/webhook_events.hpp;
// several processes share the table, each taking what it sends), POSTs each to its sender's
// URL with `Dispatcher-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, then
// deletes what was answered 2xx and sets the rest to be tried again after a doubling delay. An
// event not accepted within webhooks.give_up_hours of its state change is dropped and logged.
// At least once: a receiver that accepted but whose answer was lost gets the event again, and
// dedupes it by its event_id.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "channels/curl/multi.hpp"
#include "config/clock.hpp"
#include "dispatcher/runtime.hpp"
#include "store/pg/async_connection.hpp"

namespace dispatcher {

// The Dispatcher-Signature header's value for `body` sent at `unix_seconds`.
std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds,
                              std::string_view body);

// How long to wait after the `attempts`-th failed delivery (1, 2, …): retry_first_ms doubling,
// at most retry_max_ms.
std::chrono::milliseconds webhook_retry_delay(int attempts, const config::Config::Webhooks& w);

struct WebhookCounts {
  long long delivered = 0, retried = 0, given_up = 0;
};

class WebhookSender : public std::enable_shared_from_this<WebhookSender> {
 public:
  WebhookSender(boost::asio::io_context& io, const Runtime& rt, NowFn now);

  // Connects to the database (blocking: start-up work) and starts polling; an error line when
  // it cannot.
  std::string start();
  void stop();  // no new rounds; deliveries under way finish first
  // For `run --until-idle`: stops once a round finds nothing due.
  void drain_then_stop();

  const WebhookCounts& counts() const { return counts_; }

 private:
  struct Round;
  void round();
  void deliver(const std::shared_ptr<Round>& r);
  void settle(const std::shared_ptr<Round>& r);
  void next(bool found_any, bool full);
  void close();

  boost::asio::io_context& io_;
  const Runtime& rt_;
  NowFn now_;
  std::unique_ptr<pg::AsyncConnection> db_;
  std::unique_ptr<channels::curl::Multi> http_;
  boost::asio::steady_timer timer_;
  bool busy_ = false, stopping_ = false, draining_ = false, closed_ = false;
  WebhookCounts counts_;
};

}  // namespace dispatcher
