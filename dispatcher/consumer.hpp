// `dispatcher run`: the consumer-group loop on one Asio event loop.
//
// Reads batches from the stream (a dedicated connection blocks in XREADGROUP), pushes each
// through the Gate with one Redis round trip per stage, hands sends to the providers, and
// acknowledges only after the batch's fates are recorded (its audit rows in PostgreSQL, one
// statement, then the Redis side with the acknowledgement). Timers move due scheduled
// messages into the stream and claim entries a dead consumer left pending.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <system_error>

#include "channels/provider.hpp"
#include "dispatcher/batch.hpp"
#include "dispatcher/tally.hpp"

namespace dispatcher {

struct ProviderSet {
  std::shared_ptr<void> engine;  // what the providers run on (the curl multi); outlives them
  std::array<std::unique_ptr<channels::Provider>, channel_count> by_channel;
  ProviderSet() = default;
  ProviderSet(ProviderSet&&) = default;
  ProviderSet& operator=(ProviderSet&&) = default;
  ~ProviderSet() {
    for (auto& p : by_channel) p.reset();  // providers first, then the engine
  }
  channels::Provider* operator[](Channel c) const { return by_channel[index(c)].get(); }
};

struct ConsumerOptions {
  bool until_idle = false;
  std::string name;  // consumer name in the group; unique per process
  int max_batches_in_flight = 2;
  // Called once the consumer has left the loop (stopped by a signal, or idle with --until-idle).
  std::function<void()> on_stopped;
};

class Consumer : public std::enable_shared_from_this<Consumer> {
 public:
  Consumer(boost::asio::io_context& io, const Runtime& rt, ProviderSet& providers, NowFn now,
           ConsumerOptions opts);
  ~Consumer();

  // Connects and starts reading; returns an error line when it cannot start.
  std::string start();
  void stop();  // graceful: no new reads, in-flight batches finish

  int exit_code() const { return exit_code_; }
  // What this process decided, as the stats hash behind /metrics counts it.
  const Tally& stats() const { return stats_; }
  std::int64_t batches() const { return batches_; }

 private:
  struct Batch;
  void do_read();
  void on_read(std::error_code err, std::vector<redis::Reply> replies);
  void do_claim();
  void do_schedule();
  void check_idle();
  void process(std::vector<Work> works);
  void on_resolved(std::shared_ptr<Batch> b, std::error_code err,
                   std::vector<redis::Reply> replies);
  void on_state(std::shared_ptr<Batch> b, std::error_code err, std::vector<redis::Reply> replies);
  void send_all(std::shared_ptr<Batch> b);
  void on_outcome(const std::shared_ptr<Batch>& b, Work& w, channels::Outcome o);
  void finish(std::shared_ptr<Batch> b);
  void acknowledge(std::shared_ptr<Batch> b, std::vector<redis::Command> cmds);
  void batch_failed(const std::shared_ptr<Batch>& b, std::error_code err);
  void maybe_done();
  static std::vector<Work> entries_to_work(const redis::Reply& entries);

  boost::asio::io_context& io_;
  const Runtime& rt_;
  Gate gate_;
  channels::RetryPolicy retry_;
  ProviderSet& providers_;
  NowFn now_;
  ConsumerOptions opts_;
  struct Io;  // connections, timers, signals
  std::unique_ptr<Io> io_state_;
  bool stopping_ = false;
  bool reading_ = false;
  bool leaving_ = false;  // the group housekeeping on the way out has been sent
  int in_flight_ = 0;
  int exit_code_ = 0;
  Tally stats_;
  std::int64_t batches_ = 0;
  // Channels a provider said are spent, until when (also written to Redis with the batch).
  std::array<std::optional<TimePoint>, channel_count> spent_until_{};
};

}  // namespace dispatcher
