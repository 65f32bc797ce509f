// The connection limits of web/server.cpp, against `dispatcher serve`: one client address holds
// at most its cap (the next connection is closed at once), a flood of idle connections from one
// address leaves /healthz answering another, the global cap sheds the oldest idle connection,
// and a connection that sends no request is closed after the header timeout.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "web/web_env.hpp"

namespace web_testing {
namespace {

using namespace std::chrono_literals;

// Enough fds for the flood and the fixture's own.
void raise_fd_limit(rlim_t wanted) {
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_cur >= wanted) return;
  lim.rlim_cur = std::min(wanted, lim.rlim_max);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);
  ASSERT_GE(lim.rlim_cur, wanted) << "the hard fd limit is too low for this test";
}

// Connects from `from` (any 127/8 address is loopback on Linux) without waiting; -1 on failure.
int connect_from(const char* from, int port, bool blocking) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (blocking ? 0 : SOCK_NONBLOCK), 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, from, &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      (::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0 &&
       errno != EINPROGRESS)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The server closed this connection (EOF or reset) within `limit`.
bool closed_within(int fd, std::chrono::milliseconds limit) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
  char c;
  const ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

// GET /healthz over a fresh connection from `from`; the status code, or 0 on timeout/failure.
int healthz_from(const char* from, int port, std::chrono::seconds limit) {
  const int fd = connect_from(from, port, true);
  if (fd < 0) return 0;
  timeval tv{static_cast<time_t>(limit.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  std::string got;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (got.rfind("HTTP/1.1 ", 0) != 0 || got.size() < 12) return 0;
  return std::stoi(got.substr(9, 3));
}

struct Fds {
  std::vector<int> fds;
  ~Fds() {
    for (int fd : fds) ::close(fd);
  }
};

TEST(ConnectionLimits, AFloodFromOneAddressLeavesHealthzToAnother) {
  raise_fd_limit(4096);
  WebEnv env({"--header-timeout", "60"});
  Fds flood;
  for (int i = 0; i < 1100; ++i) {
    const int fd = connect_from("127.0.0.1", env.port(), false);
    ASSERT_GE(fd, 0) << "connect " << i << ": " << std::strerror(errno);
    flood.fds.push_back(fd);
  }
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(healthz_from("127.0.0.2", env.port(), 5s), 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  // The first 64 are held (idle, within the header timeout); every later one was closed.
  int closed = 0;
  for (std::size_t i = 64; i < flood.fds.size(); ++i) closed += closed_within(flood.fds[i], 5s);
  EXPECT_EQ(closed, 1100 - 64);
  int held = 0;
  for (std::size_t i = 0; i < 64; ++i) held += !closed_within(flood.fds[i], 0ms);
  EXPECT_EQ(held, 64);
  for (int fd : flood.fds) ::close(fd);
  flood.fds.clear();
  // Once they are gone, the address is served again.
  EXPECT_TRUE(testing_support::wait_until(
      [&] { return healthz_from("127.0.0.1", env.port(), 2s) == 200; }, 5s));
}

TEST(ConnectionLimits, The65thConnectionFromOneAddressIsClosedPromptly) {
  WebEnv env({"--header-timeout", "60"});
  Fds conns;
  for (int i = 0; i < 64; ++i) conns.fds.push_back(connect_from("127.0.0.1", env.port(), true));
  const int extra = connect_from("127.0.0.1", env.port(), true);
  ASSERT_GE(extra, 0);
  conns.fds.push_back(extra);
  EXPECT_TRUE(closed_within(extra, 2s));
  for (int i = 0; i < 64; ++i) EXPECT_FALSE(closed_within(conns.fds[i], 0ms)) << i;
  // One of the 64 still gets its answer.
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(conns.fds[10], req.data(), req.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(req.size()));
  pollfd p{conns.fds[10], POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  char buf[64] = {};
  ASSERT_GT(::recv(conns.fds[10], buf, sizeof buf - 1, 0), 12);
  EXPECT_EQ(std::string(buf).substr(0, 12), "HTTP/1.1 200");
}

TEST(ConnectionLimits, AtTheGlobalCapTheOldestIdleConnectionIsShed) {
  WebEnv env({"--max-connections", "8", "--header-timeout", "60"});
  Fds idle;
  for (int i = 0; i < 8; ++i) idle.fds.push_back(connect_from("127.0.0.1", env.port(), true));
  // Let the server accept all eight before the ninth comes.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(healthz_from("127.0.0.2", env.port(), 5s), 200);
  EXPECT_TRUE(closed_within(idle.fds[0], 2s)) << "the oldest idle one made room";
  for (int i = 1; i < 8; ++i) EXPECT_FALSE(closed_within(idle.fds[i], 0ms)) << i;
}

TEST(ConnectionLimits, AConnectionThatSendsNoRequestIsClosedAfterTheHeaderTimeout) {
  WebEnv env({"--header-timeout", "1"});
  Fds c;
  c.fds.push_back(connect_from("127.0.0.1", env.port(), true));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(closed_within(c.fds[0], 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 800ms);
}

}  // namespace
}  // namespace web_testing
