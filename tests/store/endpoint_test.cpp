#include "store/redis/endpoint.hpp"

#include <gtest/gtest.h>

using namespace dispatcher;

TEST(RedisEndpoint, ParsesTcpAndUnixUrls) {
  auto tcp = redis::parse_endpoint("redis://:pw@127.0.0.1:6380/2");
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->host, "127.0.0.1");
  EXPECT_EQ(tcp->port, 6380);
  EXPECT_EQ(tcp->db, 2);
  EXPECT_EQ(tcp->password, "pw");
  auto unix_ = redis::parse_endpoint("unix:///run/redis.sock");
  ASSERT_TRUE(unix_);
  EXPECT_EQ(unix_->socket_path, "/run/redis.sock");
  EXPECT_FALSE(redis::parse_endpoint("http://x"));
  EXPECT_FALSE(redis::parse_endpoint("redis://host:99999"));
}
