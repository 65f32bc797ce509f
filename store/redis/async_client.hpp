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
#include <system_error>
#include <vector>

#include "store/redis/endpoint.hpp"
#include "store/redis/error.hpp"
#include "store/redis/reply.hpp"

namespace dispatcher::redis {

// `ec` is set when the batch did not complete (replies are then empty or partial); a command
// Redis refused is not an `ec` but an error Reply (see first_error()).
using BatchHandler = std::function<void(std::error_code ec, std::vector<Reply> replies)>;

class AsyncClient {
 public:
  // Connects (the socket connect itself completes on the loop; commands queue meanwhile).
  // Null with `ec` set when the connect cannot even start.
  static std::unique_ptr<AsyncClient> connect(boost::asio::io_context& io, const Endpoint& e,
                                              std::error_code& ec);

  void exec(std::vector<Command> cmds, BatchHandler done);
  bool connected() const noexcept;
  std::size_t outstanding() const noexcept;

  ~AsyncClient();  // disconnects; outstanding batches fail with Errc::disconnected

  struct State;  // shared with hiredis' C callbacks; outlives the client until hiredis lets go

 private:
  explicit AsyncClient(std::shared_ptr<State> s) : state_(std::move(s)) {}
  std::shared_ptr<State> state_;
};

}  // namespace dispatcher::redis
