// The surface's Redis link against stand-ins on a Unix socket: every batch is answered once, on
// the loop and never inside exec(); a Redis that never answers is a timeout that lets go of
// what the batch's completion holds; a refused command is `refused`; close() fails what waits.
#include "web/redis_link.hpp"

#include <gtest/gtest.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <optional>

#include "support/redis_server.hpp"

namespace dispatcher::web {
namespace {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

// Accepts connections; `reply` (if set) is written back for every chunk read.
class StandIn {
 public:
  StandIn(asio::io_context& io, const std::string& path, std::string reply)
      : acceptor_(io, local::endpoint(path)), reply_(std::move(reply)) {
    do_accept();
  }

 private:
  void do_accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, local::socket s) {
      if (ec) return;
      auto conn = std::make_shared<local::socket>(std::move(s));
      conns_.push_back(conn);
      do_read(conn);
      do_accept();
    });
  }
  void do_read(std::shared_ptr<local::socket> c) {
    auto buf = std::make_shared<std::array<char, 4096>>();
    c->async_read_some(asio::buffer(*buf),
                       [this, c, buf](boost::system::error_code ec, std::size_t) {
                         if (ec) return;
                         if (!reply_.empty()) asio::write(*c, asio::buffer(reply_), ec);
                         do_read(c);
                       });
  }
  local::acceptor acceptor_;
  std::string reply_;
  std::vector<std::shared_ptr<local::socket>> conns_;
};

redis::Endpoint at(const std::string& path) {
  redis::Endpoint e;
  e.socket_path = path;
  return e;
}

struct Answer {
  std::error_code ec;
  std::vector<redis::Reply> replies;
  int count = 0;
};

RedisLink::Done record(Answer& a) {
  return [&a](std::error_code ec, std::vector<redis::Reply> r) {
    a.ec = ec;
    a.replies = std::move(r);
    ++a.count;
  };
}

void run_until(asio::io_context& io, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
}

TEST(RedisLink, AnswersWithTheRepliesOnTheLoop) {
  testing_support::TempDir dir;
  asio::io_context io;
  StandIn redis(io, (dir.path() / "r.sock").string(), "+PONG\r\n");
  RedisLink link(io, at((dir.path() / "r.sock").string()), std::chrono::milliseconds(2000));
  Answer a;
  link.exec({redis::cmd("PING")}, record(a));
  EXPECT_EQ(a.count, 0) << "never inside exec()";
  run_until(io, [&] { return a.count > 0; });
  EXPECT_EQ(a.count, 1);
  EXPECT_FALSE(a.ec) << a.ec.message();
  ASSERT_EQ(a.replies.size(), 1u);
  EXPECT_EQ(a.replies[0].str, "PONG");
}

TEST(RedisLink, ARefusedCommandIsAnErrorCodeNotAString) {
  testing_support::TempDir dir;
  asio::io_context io;
  StandIn redis(io, (dir.path() / "r.sock").string(), "-ERR no such thing\r\n");
  RedisLink link(io, at((dir.path() / "r.sock").string()), std::chrono::milliseconds(2000));
  Answer a;
  link.exec({redis::cmd("NOPE")}, record(a));
  run_until(io, [&] { return a.count > 0; });
  EXPECT_EQ(a.ec, make_error_code(LinkErrc::refused));
  EXPECT_EQ(kind_of(a.ec), ErrorKind::server);
  ASSERT_EQ(a.replies.size(), 1u) << "the replies come with it";
  EXPECT_TRUE(a.replies[0].is_error());
}

TEST(RedisLink, ARedisThatNeverAnswersIsATimeoutThatLetsGo) {
  testing_support::TempDir dir;
  asio::io_context io;
  StandIn redis(io, (dir.path() / "r.sock").string(), "");
  RedisLink link(io, at((dir.path() / "r.sock").string()), std::chrono::milliseconds(50));
  Answer a;
  auto held = std::make_shared<int>(1);
  std::weak_ptr<int> watch = held;
  link.exec({redis::cmd("PING")},
            [&a, held = std::move(held)](std::error_code ec, std::vector<redis::Reply>) {
              a.ec = ec;
              ++a.count;
            });
  run_until(io, [&] { return a.count > 0; });
  EXPECT_EQ(a.count, 1);
  EXPECT_EQ(a.ec, make_error_code(LinkErrc::timed_out));
  EXPECT_EQ(kind_of(a.ec), ErrorKind::timeout);
  EXPECT_TRUE(watch.expired()) << "the unanswered batch no longer holds the completion";
  // Closing fails the batch Redis still owes: nothing is answered twice.
  link.close();
  io.restart();
  io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(a.count, 1);
}

TEST(RedisLink, NoServerIsCannotConnectAndCloseRefusesLaterBatches) {
  testing_support::TempDir dir;
  asio::io_context io;
  RedisLink link(io, at((dir.path() / "none.sock").string()), std::chrono::milliseconds(200));
  Answer a;
  link.exec({redis::cmd("PING")}, record(a));
  EXPECT_EQ(a.count, 0) << "never inside exec()";
  run_until(io, [&] { return a.count > 0; });
  EXPECT_EQ(a.ec, make_error_code(redis::Errc::cannot_connect));
  link.close();
  Answer b;
  link.exec({redis::cmd("PING")}, record(b));
  EXPECT_EQ(b.count, 0);
  run_until(io, [&] { return b.count > 0; });
  EXPECT_EQ(b.ec, make_error_code(redis::Errc::disconnected));
}

TEST(RedisLink, CloseFailsTheBatchesWaitingOnIt) {
  testing_support::TempDir dir;
  asio::io_context io;
  StandIn redis(io, (dir.path() / "r.sock").string(), "");
  RedisLink link(io, at((dir.path() / "r.sock").string()), std::chrono::milliseconds(5000));
  Answer a;
  link.exec({redis::cmd("PING")}, record(a));
  io.restart();
  io.run_for(std::chrono::milliseconds(50));  // connected, the command written, no answer
  link.close();
  run_until(io, [&] { return a.count > 0; });
  EXPECT_EQ(a.count, 1);
  EXPECT_EQ(kind_of(a.ec), ErrorKind::network) << a.ec.message();
}

}  // namespace
}  // namespace dispatcher::web
