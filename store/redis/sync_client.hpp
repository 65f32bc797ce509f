// A blocking Redis client for the command-line verbs (never used on the event loop).
//
// exec() pipelines a list of commands: all are written, then all replies are read.
#pragma once

#include <memory>
#include <stdexcept>
#include <vector>

#include "store/redis/endpoint.hpp"
#include "store/redis/reply.hpp"

struct redisContext;

namespace dispatcher::redis {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SyncClient {
 public:
  static SyncClient connect(const Endpoint& e);  // throws Error

  std::vector<Reply> exec(const std::vector<Command>& cmds);  // throws Error on I/O failure
  Reply run(const Command& c) { return std::move(exec({c}).front()); }

  SyncClient(SyncClient&&) noexcept;
  SyncClient& operator=(SyncClient&&) noexcept;
  ~SyncClient();

 private:
  explicit SyncClient(redisContext* c);
  struct Free {
    void operator()(redisContext* c) const;
  };
  std::unique_ptr<redisContext, Free> ctx_;
};

}  // namespace dispatcher::redis
