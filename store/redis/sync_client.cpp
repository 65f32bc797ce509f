#include "store/redis/sync_client.hpp"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>

namespace dispatcher::redis {

namespace {

// hiredis writes with write(2), and writing to a server that went away raises SIGPIPE, whose
// default action kills the verb before it can say what happened. While hiredis writes, SIGPIPE
// is held blocked for this thread, and one it raised is consumed, so the write fails with EPIPE
// and exec() throws Error as documented (libpq's pq_block_sigpipe does the same).
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{0, 0};
        sigtimedwait(&pipe_, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
};

}  // namespace

void SyncClient::Free::operator()(redisContext* c) const { redisFree(c); }

SyncClient::SyncClient(redisContext* c) : ctx_(c) {}
SyncClient::SyncClient(SyncClient&&) noexcept = default;
SyncClient& SyncClient::operator=(SyncClient&&) noexcept = default;
SyncClient::~SyncClient() = default;

SyncClient SyncClient::connect(const Endpoint& e) {
  timeval tv{5, 0};
  redisContext* c = e.socket_path.empty() ? redisConnectWithTimeout(e.host.c_str(), e.port, tv)
                                          : redisConnectUnixWithTimeout(e.socket_path.c_str(), tv);
  if (!c) throw Error("redis: cannot allocate a connection");
  if (c->err) {
    std::string msg =
        std::string("redis: cannot connect to ") +
        (e.socket_path.empty() ? e.host + ":" + std::to_string(e.port) : e.socket_path) + ": " +
        c->errstr;
    redisFree(c);
    throw Error(msg);
  }
  SyncClient client(c);
  std::vector<Command> setup;
  if (!e.password.empty()) setup.push_back(cmd("AUTH", e.password));
  if (e.db != 0) setup.push_back(cmd("SELECT", std::to_string(e.db)));
  if (!setup.empty()) {
    auto replies = client.exec(setup);
    if (auto err = first_error(setup, replies); !err.empty()) throw Error("redis: " + err);
  }
  return client;
}

std::vector<Reply> SyncClient::exec(const std::vector<Command>& cmds) {
  SigpipeBlock no_sigpipe;
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& c : cmds) {
    argv.clear();
    lens.clear();
    for (const auto& a : c.argv) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(),
                               lens.data()) != REDIS_OK)
      throw Error(std::string("redis: ") + ctx_->errstr);
  }
  std::vector<Reply> replies;
  replies.reserve(cmds.size());
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_.get(), &raw) != REDIS_OK)
      throw Error(std::string("redis: ") + ctx_->errstr);
    replies.push_back(Reply::from(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return replies;
}

}  // namespace dispatcher::redis
