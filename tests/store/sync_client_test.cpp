// The blocking client of the verbs against a real redis-server: commands, pipelines, error
// replies as values, I/O failures as redis::Error, and endpoints that cannot be reached.
#include "store/redis/sync_client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "support/redis_server.hpp"

namespace dispatcher::redis {
namespace {

Endpoint unix_endpoint(const std::filesystem::path& sock) {
  Endpoint e;
  e.socket_path = sock.string();
  return e;
}

class SyncClientTest : public ::testing::Test {
 protected:
  std::filesystem::path socket() const { return tmp_.path() / "redis.sock"; }
  testing_support::TempDir tmp_;
  std::unique_ptr<testing_support::RedisServer> server_ =
      std::make_unique<testing_support::RedisServer>(tmp_.path());
};

TEST_F(SyncClientTest, RunsOneCommand) {
  SyncClient c = SyncClient::connect(unix_endpoint(socket()));
  EXPECT_EQ(c.run(cmd("PING")).str, "PONG");
  EXPECT_EQ(c.run(cmd("SET", "k", "v")).str, "OK");
  EXPECT_EQ(c.run(cmd("GET", "k")).str, "v");
}

TEST_F(SyncClientTest, APipelineAnswersEveryCommandInOrder) {
  SyncClient c = SyncClient::connect(unix_endpoint(socket()));
  std::vector<Command> cmds;
  for (int i = 0; i < 5000; ++i) cmds.push_back(cmd("INCR", "counter"));
  auto replies = c.exec(cmds);
  ASSERT_EQ(replies.size(), cmds.size());
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(replies[i].integer, i + 1) << i;
  EXPECT_TRUE(c.exec({}).empty());
}

TEST_F(SyncClientTest, AnErrorReplyIsAValueAndTheConnectionGoesOn) {
  SyncClient c = SyncClient::connect(unix_endpoint(socket()));
  auto replies = c.exec({cmd("SET", "k", "v"), cmd("NOSUCHCOMMAND", "x"), cmd("GET", "k")});
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_TRUE(replies[1].is_error());
  EXPECT_NE(replies[1].str.find("unknown command"), std::string::npos) << replies[1].str;
  EXPECT_EQ(replies[2].str, "v");  // the commands after the error still ran
  EXPECT_EQ(c.run(cmd("PING")).str, "PONG");
}

TEST_F(SyncClientTest, SelectsTheEndpointsDatabase) {
  Endpoint e = unix_endpoint(socket());
  e.db = 3;
  SyncClient in3 = SyncClient::connect(e);
  in3.run(cmd("SET", "where", "three"));
  SyncClient in0 = SyncClient::connect(unix_endpoint(socket()));
  EXPECT_TRUE(in0.run(cmd("GET", "where")).is_nil());
  EXPECT_EQ(in0.run(cmd("SELECT", "3")).str, "OK");
  EXPECT_EQ(in0.run(cmd("GET", "where")).str, "three");
}

TEST_F(SyncClientTest, AuthenticatesWithThePassword) {
  SyncClient admin = SyncClient::connect(unix_endpoint(socket()));
  ASSERT_EQ(admin.run(cmd("CONFIG", "SET", "requirepass", "s3cret")).str, "OK");
  Endpoint e = unix_endpoint(socket());
  e.password = "s3cret";
  EXPECT_EQ(SyncClient::connect(e).run(cmd("PING")).str, "PONG");

  e.password = "wrong";
  try {
    SyncClient::connect(e);
    ADD_FAILURE() << "a wrong password connected";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("AUTH"), std::string::npos) << err.what();
  }
  // Without a password the connection opens, and the server refuses its commands (a value).
  SyncClient anonymous = SyncClient::connect(unix_endpoint(socket()));
  Reply r = anonymous.run(cmd("GET", "k"));
  EXPECT_TRUE(r.is_error());
  EXPECT_EQ(r.str.rfind("NOAUTH", 0), 0u) << r.str;
}

TEST_F(SyncClientTest, ASocketNobodyListensOnIsAnErrorNamingIt) {
  const auto nowhere = tmp_.path() / "nobody.sock";
  try {
    SyncClient::connect(unix_endpoint(nowhere));
    ADD_FAILURE() << "connected to a socket that does not exist";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find(nowhere.string()), std::string::npos) << err.what();
  }
}

TEST_F(SyncClientTest, ATcpPortNobodyListensOnIsAnErrorNamingIt) {
  // A port the OS chose and this test holds bound, but not listening: connecting is refused.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  Endpoint e;
  e.host = "127.0.0.1";
  e.port = ntohs(addr.sin_port);
  try {
    SyncClient::connect(e);
    ADD_FAILURE() << "connected to a port nobody listens on";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("127.0.0.1:" + std::to_string(e.port)),
              std::string::npos)
        << err.what();
  }
  ::close(fd);
}

TEST_F(SyncClientTest, AServerThatGoesAwayIsAnErrorNotAReply) {
  SyncClient c = SyncClient::connect(unix_endpoint(socket()));
  ASSERT_EQ(c.run(cmd("PING")).str, "PONG");
  server_.reset();  // killed and reaped
  // Writing to the closed socket must not raise SIGPIPE: that would end the verb (and this
  // test) before it could say what happened.
  EXPECT_THROW(c.exec({cmd("SET", "k", std::string(1 << 20, 'x')), cmd("PING")}), Error);
  EXPECT_THROW(c.run(cmd("PING")), Error);  // and it stays broken, without a signal
}

TEST_F(SyncClientTest, AMovedClientKeepsItsConnection) {
  SyncClient a = SyncClient::connect(unix_endpoint(socket()));
  a.run(cmd("SET", "k", "v"));
  SyncClient b = std::move(a);
  EXPECT_EQ(b.run(cmd("GET", "k")).str, "v");
  SyncClient c = SyncClient::connect(unix_endpoint(socket()));
  c = std::move(b);
  EXPECT_EQ(c.run(cmd("GET", "k")).str, "v");
}

}  // namespace
}  // namespace dispatcher::redis
