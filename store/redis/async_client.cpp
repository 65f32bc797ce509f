#include "store/redis/async_client.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

namespace dispatcher::redis {

namespace asio = boost::asio;

// The adapter state: hiredis' six event hooks get a pointer to it, and every asio handler
// holds a shared_ptr, so neither side can see it freed (curl bugs #1191/#5090 are what
// happens otherwise).
struct AsyncClient::State : std::enable_shared_from_this<AsyncClient::State> {
  explicit State(asio::io_context& io) : io(io) {}
  asio::io_context& io;
  redisAsyncContext* ac = nullptr;
  std::unique_ptr<asio::posix::stream_descriptor> sd;
  bool want_read = false, want_write = false;
  bool read_pending = false, write_pending = false;
  bool connected = false;
  std::error_code error;  // why the connection is gone, once it is
  std::size_t outstanding = 0;

  void arm_read() {
    if (read_pending || !want_read || !sd) return;
    read_pending = true;
    sd->async_wait(asio::posix::stream_descriptor::wait_read,
                   [s = shared_from_this()](boost::system::error_code ec) {
                     s->read_pending = false;
                     if (ec || !s->ac || !s->want_read) return;
                     redisAsyncHandleRead(s->ac);
                     s->arm_read();
                   });
  }

  void arm_write() {
    if (write_pending || !want_write || !sd) return;
    write_pending = true;
    sd->async_wait(asio::posix::stream_descriptor::wait_write,
                   [s = shared_from_this()](boost::system::error_code ec) {
                     s->write_pending = false;
                     if (ec || !s->ac || !s->want_write) return;
                     redisAsyncHandleWrite(s->ac);
                     s->arm_write();
                   });
  }

  static State* of(void* p) { return static_cast<State*>(p); }
  static void add_read(void* p) { of(p)->want_read = true, of(p)->arm_read(); }
  static void del_read(void* p) { of(p)->want_read = false; }
  static void add_write(void* p) { of(p)->want_write = true, of(p)->arm_write(); }
  static void del_write(void* p) { of(p)->want_write = false; }
  static void cleanup(void* p) {
    State* s = of(p);
    s->want_read = s->want_write = false;
    if (s->sd) {
      boost::system::error_code ignored;
      s->sd->cancel(ignored);
      s->sd->release();  // hiredis owns and closes the fd
      s->sd.reset();
    }
    s->ac = nullptr;
    s->connected = false;
  }
};

namespace {

struct Batch {
  std::vector<Reply> replies;
  std::size_t remaining = 0;
  std::error_code error;
  BatchHandler done;
  std::weak_ptr<AsyncClient::State> state;
};

void on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* b = static_cast<Batch*>(privdata);
  const std::size_t index = b->replies.size() - b->remaining;
  if (reply) {
    b->replies[index] = Reply::from(static_cast<redisReply*>(reply));
  } else if (!b->error) {
    // hiredis fails every outstanding callback with a null reply when the context goes away
    // (before it calls the disconnect callback): the context's own error says why.
    if (ac && ac->err == REDIS_ERR_PROTOCOL)
      b->error = make_error_code(Errc::protocol);
    else if (ac && ac->err)
      b->error = make_error_code(Errc::connection_lost);
    else
      b->error = make_error_code(Errc::disconnected);
  }
  if (--b->remaining == 0) {
    if (auto s = b->state.lock()) --s->outstanding;
    std::unique_ptr<Batch> owned(b);
    owned->done(owned->error, std::move(owned->replies));
  }
}

void on_connect(const redisAsyncContext* ac, int status) {
  auto* s = static_cast<AsyncClient::State*>(ac->data);
  if (!s) return;
  if (status == REDIS_OK) {
    s->connected = true;
  } else {
    s->error = make_error_code(Errc::cannot_connect);
    spdlog::warn("redis: cannot connect: {}", ac->errstr[0] ? ac->errstr : "?");
  }
}

void on_disconnect(const redisAsyncContext* ac, int status) {
  auto* s = static_cast<AsyncClient::State*>(ac->data);
  if (!s) return;
  s->connected = false;
  if (status != REDIS_OK && !s->error) {
    s->error = make_error_code(Errc::connection_lost);
    spdlog::warn("redis: connection lost: {}", ac->errstr[0] ? ac->errstr : "?");
  }
}

}  // namespace

std::unique_ptr<AsyncClient> AsyncClient::connect(asio::io_context& io, const Endpoint& e,
                                                  std::error_code& ec) {
  redisAsyncContext* ac = e.socket_path.empty() ? redisAsyncConnect(e.host.c_str(), e.port)
                                                : redisAsyncConnectUnix(e.socket_path.c_str());
  if (!ac || ac->err) {
    ec = make_error_code(Errc::cannot_connect);
    spdlog::warn("redis: cannot connect: {}", ac ? ac->errstr : "out of memory");
    if (ac) redisAsyncFree(ac);
    return nullptr;
  }
  auto state = std::make_shared<State>(io);
  state->ac = ac;
  state->sd = std::make_unique<asio::posix::stream_descriptor>(io, ac->c.fd);
  ac->data = state.get();
  ac->ev.data = state.get();
  ac->ev.addRead = &State::add_read;
  ac->ev.delRead = &State::del_read;
  ac->ev.addWrite = &State::add_write;
  ac->ev.delWrite = &State::del_write;
  ac->ev.cleanup = &State::cleanup;
  redisAsyncSetConnectCallback(ac, &on_connect);
  redisAsyncSetDisconnectCallback(ac, &on_disconnect);
  std::unique_ptr<AsyncClient> client(new AsyncClient(state));
  std::vector<Command> setup;
  if (!e.password.empty()) setup.push_back(cmd("AUTH", e.password));
  if (e.db != 0) setup.push_back(cmd("SELECT", std::to_string(e.db)));
  if (!setup.empty()) client->exec(std::move(setup), [](std::error_code, std::vector<Reply>) {});
  return client;
}

void AsyncClient::exec(std::vector<Command> cmds, BatchHandler done) {
  if (cmds.empty()) {
    asio::post(state_->io, [done = std::move(done)] { done({}, {}); });
    return;
  }
  if (!state_->ac) {
    const std::error_code err = state_->error ? state_->error : make_error_code(Errc::disconnected);
    asio::post(state_->io, [done = std::move(done), err] { done(err, {}); });
    return;
  }
  auto* b = new Batch;
  b->replies.resize(cmds.size());
  b->remaining = cmds.size();
  b->done = std::move(done);
  b->state = state_;
  ++state_->outstanding;
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    argv.clear();
    lens.clear();
    for (const auto& a : cmds[i].argv) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAsyncCommandArgv(state_->ac, &on_reply, b, static_cast<int>(argv.size()), argv.data(),
                              lens.data()) != REDIS_OK) {
      // The context is going away: account for the commands that were never queued.
      if (!b->error) b->error = make_error_code(Errc::disconnected);
      const std::size_t unsent = cmds.size() - i;
      b->remaining -= unsent - 1;
      on_reply(nullptr, nullptr, b);
      return;
    }
  }
}

bool AsyncClient::connected() const noexcept { return state_->ac != nullptr && !state_->error; }
std::size_t AsyncClient::outstanding() const noexcept { return state_->outstanding; }

AsyncClient::~AsyncClient() {
  if (state_->ac) redisAsyncFree(state_->ac);  // fails outstanding callbacks, then cleanup()
}

}  // namespace dispatcher::redis
