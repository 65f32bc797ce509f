// Replies as plain values: every hiredis reply type copied out of a real redis-server's
// answers, and first_error() naming the command that failed.
#include "store/redis/reply.hpp"

#include <gtest/gtest.h>

#include "store/redis/sync_client.hpp"
#include "support/redis_server.hpp"

namespace dispatcher::redis {
namespace {

TEST(RedisCommand, KeepsItsArgumentsInOrder) {
  const std::string key = "k";
  Command c = cmd("SET", key, std::string("v\0w", 3), "PX", std::to_string(5));
  EXPECT_EQ(c.argv, (std::vector<std::string>{"SET", "k", std::string("v\0w", 3), "PX", "5"}));
}

TEST(RedisReply, ANullReplyIsNil) {
  Reply r = Reply::from(nullptr);
  EXPECT_TRUE(r.is_nil());
  EXPECT_FALSE(r.is_string());
  EXPECT_FALSE(r.is_error());
}

TEST(FirstError, EmptyWhenEveryReplyIsFine) {
  Reply ok;
  ok.type = Reply::Type::status;
  ok.str = "OK";
  Reply nil;
  EXPECT_EQ(first_error({cmd("SET", "a", "1"), cmd("GET", "b")}, {ok, nil}), "");
  EXPECT_EQ(first_error({}, {}), "");
}

TEST(FirstError, NamesTheFirstFailingCommand) {
  Reply ok;
  ok.type = Reply::Type::integer;
  Reply wrong;
  wrong.type = Reply::Type::error;
  wrong.str = "WRONGTYPE Operation against a key holding the wrong kind of value";
  Reply later = wrong;
  later.str = "ERR later";
  EXPECT_EQ(first_error({cmd("INCR", "a"), cmd("HSET", "a", "f", "v"), cmd("ZADD", "a")},
                        {ok, wrong, later}),
            "HSET: WRONGTYPE Operation against a key holding the wrong kind of value");
  // Replies without their commands (the consumer passes none) still say what went wrong.
  EXPECT_EQ(first_error({}, {ok, later}), "?: ERR later");
}

class RedisReplies : public ::testing::Test {
 protected:
  testing_support::TempDir tmp_;
  testing_support::RedisServer server_{tmp_.path()};
  SyncClient redis_ = server_.client();
};

TEST_F(RedisReplies, EveryTypeIsCopiedOut) {
  const std::string binary("a\0b\r\nc", 6);
  std::vector<Command> cmds{cmd("SET", "s", binary),      cmd("GET", "s"),
                            cmd("INCRBY", "n", "-42"),    cmd("GET", "missing"),
                            cmd("RPUSH", "l", "x", "y"),  cmd("LRANGE", "l", "0", "-1"),
                            cmd("HSET", "s", "f", "v"),   cmd("XADD", "st", "*", "f", "v"),
                            cmd("XRANGE", "st", "-", "+")};
  auto r = redis_.exec(cmds);
  ASSERT_EQ(r.size(), cmds.size());
  EXPECT_EQ(r[0].type, Reply::Type::status);
  EXPECT_EQ(r[0].str, "OK");
  EXPECT_TRUE(r[0].is_string());
  EXPECT_EQ(r[1].type, Reply::Type::string);
  EXPECT_EQ(r[1].str, binary);  // binary-safe both ways
  EXPECT_EQ(r[2].type, Reply::Type::integer);
  EXPECT_EQ(r[2].integer, -42);
  EXPECT_TRUE(r[3].is_nil());
  EXPECT_EQ(r[4].integer, 2);
  ASSERT_EQ(r[5].type, Reply::Type::array);
  ASSERT_EQ(r[5].elements.size(), 2u);
  EXPECT_EQ(r[5].elements[1].str, "y");
  EXPECT_TRUE(r[6].is_error());
  EXPECT_EQ(r[6].str.rfind("WRONGTYPE", 0), 0u) << r[6].str;
  // Nested arrays: [[id, [field, value]]].
  ASSERT_EQ(r[8].elements.size(), 1u);
  EXPECT_EQ(r[8].elements[0].elements[0].str, r[7].str);
  EXPECT_EQ(r[8].elements[0].elements[1].elements[1].str, "v");

  EXPECT_EQ(first_error(cmds, r),
            "HSET: WRONGTYPE Operation against a key holding the wrong kind of value");
}

}  // namespace
}  // namespace dispatcher::redis
