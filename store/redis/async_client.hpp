// A non-blocking Redis client on a Boost.Asio event loop (hiredis async, our adapter).
//
// exec() writes a whole batch of commands at once (hiredis pipelines them on the socket)
// and calls back once, on the loop, when every reply is in. A lost connection fails
// every outstanding batch with an error; the owner decides what to do.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/redis/endpoint.hpp"
#include "store/redis/reply.hpp"

namespace dispatcher::redis {

using BatchHandler = std::function<void(const std::string& error, std::vector<Reply> replies)>;

class AsyncClient {
 public:
  // Connects (the socket connect itself completes on the loop; commands queue meanwhile).
  static std::unique_ptr<AsyncClient> connect(boost::asio::io_context& io, const Endpoint& e,
                                              std::string& error);

  void exec(std::vector<Command> cmds, BatchHandler done);
  bool connected() const noexcept;
  std::size_t outstanding() const noexcept;

  ~AsyncClient();  // disconnects; outstanding batches fail with "disconnected"

  struct State;  // shared with hiredis' C callbacks; outlives the client until hiredis lets go

 private:
  explicit AsyncClient(std::shared_ptr<State> s) : state_(std::move(s)) {}
  std::shared_ptr<State> state_;
};

}  // namespace dispatcher::redis
