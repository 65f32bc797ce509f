#include "web/redis_link.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <string>
#include <utility>

namespace dispatcher::web {

namespace asio = boost::asio;

namespace {

class LinkCategory final : public KindedCategory {
 public:
  const char* name() const noexcept override { return "web.redis"; }
  std::string message(int c) const override {
    switch (static_cast<LinkErrc>(c)) {
      case LinkErrc::timed_out:
        return "redis: no answer in time";
      case LinkErrc::refused:
        return "redis: a command was refused";
    }
    return "redis: error " + std::to_string(c);
  }
  ErrorKind kind(int c) const noexcept override {
    return static_cast<LinkErrc>(c) == LinkErrc::timed_out ? ErrorKind::timeout : ErrorKind::server;
  }
};

}  // namespace

const KindedCategory& link_category() noexcept {
  static const LinkCategory category;  // function-local: constructed on first use
  return category;
}

RedisLink::RedisLink(asio::io_context& io, redis::Endpoint endpoint,
                     std::chrono::milliseconds timeout)
    : io_(io), endpoint_(std::move(endpoint)), timeout_(timeout) {}

RedisLink::~RedisLink() { close(); }

void RedisLink::close() {
  closed_ = true;
  // The client fails its outstanding batches inside its destructor: let it go from a local, so
  // that a completion calling exec() meets a closed link, not one half destroyed.
  auto gone = std::move(client_);
  gone.reset();
}

void RedisLink::exec(std::vector<redis::Command> cmds, Done done) {
  if (closed_) {
    asio::post(io_,
               [done = std::move(done)] { done(make_error_code(redis::Errc::disconnected), {}); });
    return;
  }
  // A client whose connection failed is replaced once nothing is waiting on it; while batches
  // are outstanding they fail first (the client answers them), and the next batch reconnects.
  if ((!client_ || !client_->connected()) && (!client_ || client_->outstanding() == 0)) {
    std::error_code ec;
    auto gone = std::move(client_);
    gone.reset();
    client_ = redis::AsyncClient::connect(io_, endpoint_, ec);
    if (!client_) {
      asio::post(io_, [done = std::move(done), ec] { done(ec, {}); });
      return;
    }
  }
  // One answer per batch: whichever of the replies and the timer comes first takes `done` out
  // of the slot, so that a batch Redis never answers does not keep what `done` holds (the
  // request and its connection) alive after the timeout answered it.
  auto slot = std::make_shared<Done>(std::move(done));
  auto timer = std::make_shared<asio::steady_timer>(io_, timeout_);
  timer->async_wait([slot](const boost::system::error_code& ec) {
    if (ec || !*slot) return;
    auto answer = std::exchange(*slot, nullptr);
    answer(make_error_code(LinkErrc::timed_out), {});
  });
  // first_error() names the refused command by its first word: keep only those words.
  std::vector<redis::Command> names;
  names.reserve(cmds.size());
  for (const auto& c : cmds) names.push_back(redis::cmd(c.argv.empty() ? "?" : c.argv.front()));
  auto finish = [slot, timer, names = std::move(names)](std::error_code ec,
                                                        std::vector<redis::Reply> replies) {
    if (!*slot) return;
    auto answer = std::exchange(*slot, nullptr);
    timer->cancel();
    if (!ec) {
      const std::string refused = redis::first_error(names, replies);
      if (!refused.empty()) {
        spdlog::warn("redis: {}", refused);
        ec = make_error_code(LinkErrc::refused);
      }
    }
    answer(ec, std::move(replies));
  };
  // The client may fail a batch inside exec() (a context going away): such an answer is posted,
  // so that `done` never runs inside this call.
  auto inside = std::make_shared<bool>(true);
  client_->exec(std::move(cmds), [this_io = &io_, inside, finish](
                                     std::error_code ec, std::vector<redis::Reply> replies) {
    if (*inside)
      asio::post(*this_io, [finish, ec, replies = std::move(replies)]() mutable {
        finish(ec, std::move(replies));
      });
    else
      finish(ec, std::move(replies));
  });
  *inside = false;
}

}  // namespace dispatcher::web
