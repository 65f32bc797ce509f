// The private redis-server of the embedded default: started under a temporary data directory
// on a Unix socket, found again by the next caller, persistent across a restart, stopped.
#include "store/embedded_redis.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <future>
#include <stdexcept>
#include <thread>

#include "store/redis/endpoint.hpp"
#include "store/redis/sync_client.hpp"
#include "support/redis_server.hpp"

namespace dispatcher {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing_support::wait_until;

redis::SyncClient client_of(const std::string& url) {
  auto e = redis::parse_endpoint(url);
  if (!e) throw std::runtime_error("not a redis url: " + url);
  return redis::SyncClient::connect(*e);
}

bool answers(const std::string& url) {
  try {
    return client_of(url).run(redis::cmd("PING")).str == "PONG";
  } catch (const std::exception&) {
    return false;
  }
}

pid_t pid_in(const fs::path& data_dir) {
  std::ifstream in(data_dir / "redis.pid");
  pid_t pid = 0;
  in >> pid;
  return pid;
}

bool running(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

// Stops the server and waits, bounded, for the process to be gone: a daemonized server is
// not our child, so its end is seen by kill(pid, 0) failing.
bool stop_and_wait(const fs::path& data_dir) {
  const pid_t pid = pid_in(data_dir);
  stop_embedded_redis(data_dir);
  return pid > 0 && wait_until([&] { return !running(pid); }, 10s);
}

class EmbeddedRedis : public ::testing::Test {
 protected:
  ~EmbeddedRedis() override {
    // Never leave a server behind, whatever the test did.
    const pid_t pid = pid_in(data_dir());
    if (running(pid)) {
      ::kill(pid, SIGTERM);
      wait_until([&] { return !running(pid); }, 10s);
      if (running(pid)) ::kill(pid, SIGKILL);
    }
  }
  fs::path data_dir() const { return tmp_.path() / "var"; }
  testing_support::TempDir tmp_;
};

TEST_F(EmbeddedRedis, StartsAPrivateServerOnAUnixSocketUnderTheDataDir) {
  const std::string url = ensure_embedded_redis(data_dir());
  EXPECT_EQ(url, "unix://" + (fs::absolute(data_dir()) / "redis.sock").string());
  EXPECT_TRUE(answers(url));
  EXPECT_TRUE(fs::is_socket(data_dir() / "redis.sock"));
  EXPECT_TRUE(running(pid_in(data_dir())));

  auto c = client_of(url);
  // No TCP port, AOF on, data under <data dir>/redis.
  auto port = c.run(redis::cmd("CONFIG", "GET", "port"));
  ASSERT_EQ(port.elements.size(), 2u);
  EXPECT_EQ(port.elements[1].str, "0");
  auto aof = c.run(redis::cmd("CONFIG", "GET", "appendonly"));
  ASSERT_EQ(aof.elements.size(), 2u);
  EXPECT_EQ(aof.elements[1].str, "yes");
  auto dir = c.run(redis::cmd("CONFIG", "GET", "dir"));
  ASSERT_EQ(dir.elements.size(), 2u);
  EXPECT_EQ(fs::canonical(dir.elements[1].str), fs::canonical(data_dir() / "redis"));

  EXPECT_TRUE(stop_and_wait(data_dir()));
  EXPECT_FALSE(answers(url));
}

TEST_F(EmbeddedRedis, TheNextCallerFindsTheRunningServer) {
  const std::string url = ensure_embedded_redis(data_dir());
  const pid_t pid = pid_in(data_dir());
  client_of(url).run(redis::cmd("SET", "left-by", "first"));

  EXPECT_EQ(ensure_embedded_redis(data_dir()), url);
  EXPECT_EQ(pid_in(data_dir()), pid);  // not a second server
  EXPECT_EQ(client_of(url).run(redis::cmd("GET", "left-by")).str, "first");
  EXPECT_TRUE(stop_and_wait(data_dir()));
}

TEST_F(EmbeddedRedis, CallersRacingStartOneServer) {
  std::vector<std::future<std::string>> callers;
  for (int i = 0; i < 4; ++i)
    callers.push_back(
        std::async(std::launch::async, [&] { return ensure_embedded_redis(data_dir()); }));
  std::vector<std::string> urls;
  for (auto& f : callers) {
    ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
    urls.push_back(f.get());
  }
  for (const auto& u : urls) EXPECT_EQ(u, urls.front());
  EXPECT_TRUE(answers(urls.front()));
  // The server's own log says how many times one was started here.
  std::ifstream log(data_dir() / "redis.log");
  int started = 0;
  for (std::string line; std::getline(log, line);)
    if (line.find("Redis is starting") != std::string::npos) ++started;
  EXPECT_EQ(started, 1);
  EXPECT_TRUE(stop_and_wait(data_dir()));
}

TEST_F(EmbeddedRedis, WhatWasWrittenSurvivesARestart) {
  std::string url = ensure_embedded_redis(data_dir());
  client_of(url).run(redis::cmd("HSET", "dsp:state:m-1", "optout:all", "t"));
  ASSERT_TRUE(stop_and_wait(data_dir()));
  ASSERT_FALSE(answers(url));

  url = ensure_embedded_redis(data_dir());
  EXPECT_EQ(client_of(url).run(redis::cmd("HGET", "dsp:state:m-1", "optout:all")).str, "t");
  EXPECT_TRUE(stop_and_wait(data_dir()));
}

TEST_F(EmbeddedRedis, StoppingWhatNeverRanIsHarmless) {
  EXPECT_NO_THROW(stop_embedded_redis(data_dir()));
  EXPECT_FALSE(fs::exists(data_dir() / "redis.sock"));
}

TEST_F(EmbeddedRedis, ADataDirTooLongForASocketIsRefusedWithTheReason) {
  const fs::path deep = tmp_.path() / std::string(120, 'd');
  try {
    ensure_embedded_redis(deep);
    ADD_FAILURE() << "started under a path no Unix socket can have";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("too long"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dispatcher
