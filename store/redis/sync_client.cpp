#include "store/redis/sync_client.hpp"

#include <hiredis/hiredis.h>

namespace dispatcher::redis {

void SyncClient::Free::operator()(redisContext* c) const { redisFree(c); }

SyncClient::SyncClient(redisContext* c) : ctx_(c) {}
SyncClient::SyncClient(SyncClient&&) noexcept = default;
SyncClient& SyncClient::operator=(SyncClient&&) noexcept = default;
SyncClient::~SyncClient() = default;

SyncClient SyncClient::connect(const Endpoint& e) {
  timeval tv{5, 0};
  redisContext* c = e.socket_path.empty() ? redisConnectWithTimeout(e.host.c_str(), e.port, tv)
                                          : redisConnectUnixWithTimeout(e.socket_path.c_str(), tv);
  if (!c) throw Error("redis: cannot allocate a connection");
  if (c->err) {
    std::string msg =
        std::string("redis: cannot connect to ") +
        (e.socket_path.empty() ? e.host + ":" + std::to_string(e.port) : e.socket_path) + ": " +
        c->errstr;
    redisFree(c);
    throw Error(msg);
  }
  SyncClient client(c);
  std::vector<Command> setup;
  if (!e.password.empty()) setup.push_back(cmd("AUTH", e.password));
  if (e.db != 0) setup.push_back(cmd("SELECT", std::to_string(e.db)));
  if (!setup.empty()) {
    auto replies = client.exec(setup);
    if (auto err = first_error(setup, replies); !err.empty()) throw Error("redis: " + err);
  }
  return client;
}

std::vector<Reply> SyncClient::exec(const std::vector<Command>& cmds) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& c : cmds) {
    argv.clear();
    lens.clear();
    for (const auto& a : c.argv) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(),
                               lens.data()) != REDIS_OK)
      throw Error(std::string("redis: ") + ctx_->errstr);
  }
  std::vector<Reply> replies;
  replies.reserve(cmds.size());
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_.get(), &raw) != REDIS_OK)
      throw Error(std::string("redis: ") + ctx_->errstr);
    replies.push_back(Reply::from(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return replies;
}

}  // namespace dispatcher::redis
