#include "channels/curl/multi.hpp"

#include <gtest/gtest.h>

#include <set>

#include "channels/support/standin.hpp"

namespace dispatcher::channels {
namespace {

using namespace testing;  // NOLINT: the test support namespace
namespace asio = boost::asio;

TEST(Multi, GetAndPostOverPlainHttp) {
  TempDir dir;
  HttpStandin server(dir, "plain", nullptr);
  asio::io_context io;
  curl::Multi multi(io);
  std::vector<curl::Response> got;
  curl::Request get;
  get.method = "GET";
  get.url = server.base(false) + "/hello";
  multi.perform(get, [&](curl::Response r) { got.push_back(std::move(r)); });
  EXPECT_TRUE(got.empty()) << "completion must never run inside perform()";
  curl::Request post;
  post.url = server.base(false) + "/echo";
  post.body = "world";
  post.headers = {"Content-Type: text/plain"};
  multi.perform(post, [&](curl::Response r) { got.push_back(std::move(r)); });
  ASSERT_TRUE(run_until(io, [&] { return got.size() == 2; }));
  for (auto& r : got) {
    EXPECT_EQ(r.code, CURLE_OK) << r.error_text;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.kind, ErrorKind::none);
  }
  std::set<std::string> bodies{got[0].body, got[1].body};
  EXPECT_TRUE(bodies.count("hello "));
  EXPECT_TRUE(bodies.count("hello world"));
  EXPECT_EQ(multi.in_flight(), 0u);
}

TEST(Multi, LocalhostNameGoesThroughTheResolver) {
  TempDir dir;
  HttpStandin server(dir, "plain", nullptr);
  asio::io_context io;
  curl::Multi multi(io);
  int done = 0;
  for (int i = 0; i < 5; ++i) {
    curl::Request r;
    r.method = "GET";
    r.url = "http://localhost:" + std::to_string(server.port) + "/hello";
    multi.perform(r, [&](curl::Response resp) {
      EXPECT_EQ(resp.status, 200) << resp.error_text;
      ++done;
    });
  }
  ASSERT_TRUE(run_until(io, [&] { return done == 5; }));
}

TEST(Multi, DestroyedWithTransfersInFlightCallsNothing) {
  TempDir dir;
  HttpStandin server(dir, "plain", nullptr);
  asio::io_context io;
  bool called = false;
  {
    curl::Multi multi(io);
    curl::Request r;
    r.url = server.base(false) + "/slow";
    multi.perform(r, [&](curl::Response) { called = true; });
    io.run_for(std::chrono::milliseconds(200));  // connected and waiting
  }
  io.restart();
  io.run_for(std::chrono::milliseconds(100));  // stale handlers, if any, run harmlessly
  EXPECT_FALSE(called);
}

TEST(Multi, ManyInFlightOverHttpsReuseConnections) {
  TempDir dir;
  auto cert = make_cert(dir);
  HttpStandin server(dir, "plain", &cert);
  asio::io_context io;
  curl::MultiOptions options;
  options.max_host_connections = 8;  // 200 requests share 8 reused connections
  curl::Multi multi(io, options);
  int ok = 0, done = 0;
  constexpr int n = 200;
  for (int i = 0; i < n; ++i) {
    curl::Request r;
    r.url = server.base() + "/x";
    r.body = std::to_string(i);
    r.ca_file = cert.cert;
    multi.perform(r, [&](curl::Response resp) {
      ++done;
      if (resp.status == 200)
        ++ok;
      else
        ADD_FAILURE() << resp.error_text;
    });
  }
  EXPECT_EQ(multi.in_flight(), static_cast<std::size_t>(n));
  ASSERT_TRUE(run_until(
      io, [&] { return done == n; }, std::chrono::seconds(60)));
  EXPECT_EQ(ok, n);
}

// Sends come in waves (a batch, then the next). libcurl's default cache keeps 4 idle
// connections per transfer still added, so it shrinks as a wave drains and the next wave
// dials again; Multi keeps `max_connects` instead.
TEST(Multi, ConnectionsSurviveBetweenWaves) {
  TempDir dir;
  HttpStandin server(dir, "plain", nullptr);
  auto connections_for = [&](long max_connects) {
    asio::io_context io;
    curl::MultiOptions options;
    options.max_connects = max_connects;
    curl::Multi multi(io, options);
    const std::size_t before = server.requests().size();
    for (int wave = 0; wave < 6; ++wave) {
      int done = 0;
      for (int i = 0; i < 16; ++i) {
        curl::Request r;
        r.url = server.base(false) + "/x";
        r.body = std::to_string(i);
        multi.perform(r, [&](curl::Response resp) {
          ++done;
          EXPECT_EQ(resp.status, 200) << resp.error_text;
        });
      }
      EXPECT_TRUE(run_until(
          io, [&] { return done == 16; }, std::chrono::seconds(30)));
    }
    std::set<long long> ports;
    const auto log = server.requests();
    for (std::size_t i = before; i < log.size(); ++i)
      ports.insert(log[i]["connection"].get<long long>());
    EXPECT_EQ(log.size() - before, 96u);
    return ports.size();
  };
  const std::size_t ours = connections_for(curl::MultiOptions{}.max_connects);
  EXPECT_LE(ours, 20u) << "96 requests in waves of 16 should reuse about 16 connections";
  const std::size_t libcurl_default = connections_for(0);
  EXPECT_GT(libcurl_default, ours)
      << "the case this guards against: connections closed between waves";
}

TEST(Multi, StatusTimeoutSizeCapAndRefusedMapToKinds) {
  TempDir dir;
  auto cert = make_cert(dir);
  HttpStandin server(dir, "plain", &cert);
  asio::io_context io;
  curl::Multi multi(io);
  std::map<std::string, curl::Response> got;
  auto go = [&](std::string name, curl::Request r) {
    r.ca_file = cert.cert;
    multi.perform(std::move(r), [&, name](curl::Response resp) { got[name] = std::move(resp); });
  };
  curl::Request r;
  r.method = "GET";
  r.url = server.base() + "/status/503";
  go("503", r);
  r.url = server.base() + "/status/404";
  go("404", r);
  r.url = server.base() + "/slow";
  r.timeout = std::chrono::milliseconds(300);
  go("slow", r);
  r.url = server.base() + "/big";
  r.timeout = std::chrono::seconds(10);
  r.max_response_bytes = 1000;
  go("big", r);
  r.url = "https://127.0.0.1:1/";  // nothing listens on port 1
  go("refused", r);
  r.url = server.base() + "/hello";
  r.ca_file.clear();
  multi.perform(r, [&](curl::Response resp) {
    got["untrusted"] = std::move(resp);
  });  // self-signed, not trusted
  ASSERT_TRUE(run_until(io, [&] { return got.size() == 6; }));
  EXPECT_EQ(got["503"].kind, ErrorKind::server);
  EXPECT_EQ(got["404"].kind, ErrorKind::client);
  EXPECT_EQ(got["slow"].kind, ErrorKind::timeout);
  EXPECT_EQ(got["big"].kind, ErrorKind::server);
  EXPECT_EQ(got["refused"].kind, ErrorKind::network);
  EXPECT_EQ(got["untrusted"].kind, ErrorKind::client);
  EXPECT_EQ(got["untrusted"].error.category().name(), std::string("curl"));
}

}  // namespace
}  // namespace dispatcher::channels
