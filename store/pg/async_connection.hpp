// A non-blocking PostgreSQL connection on a Boost.Asio event loop (libpq's asynchronous API,
// driven by the loop as the Redis client is).
//
// exec() queues one statement; statements run in order, one on the wire at a time (a batch's
// audit is one multi-row statement, so one round trip per batch), and each calls back on the
// loop. A lost connection fails the statement under way and every queued one; the owner
// decides what to do.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "store/pg/error.hpp"
#include "store/pg/result.hpp"

namespace dispatcher::pg {

using RowsHandler = std::function<void(std::error_code ec, Rows rows)>;

class AsyncConnection {
 public:
  // Connects (blocking: start-up work), then runs non-blocking on `io`. Throws pg::Error.
  static std::unique_ptr<AsyncConnection> connect(boost::asio::io_context& io,
                                                  const std::string& conninfo);

  void exec(std::string sql, std::vector<Value> params, RowsHandler done);
  bool connected() const noexcept;
  std::size_t outstanding() const noexcept;

  ~AsyncConnection();  // closes; outstanding statements are dropped without a call back

  struct State;

 private:
  explicit AsyncConnection(std::shared_ptr<State> s) : state_(std::move(s)) {}
  std::shared_ptr<State> state_;
};

}  // namespace dispatcher::pg
