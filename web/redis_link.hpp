// The HTTP surface's one Redis connection: the non-blocking client (store/redis/async_client.hpp)
// to an endpoint resolved before the loop runs. Resolving may start the embedded redis-server (a
// blocking fork/exec and wait), so it never happens here: on the loop the link only reconnects,
// to that same endpoint, when a batch finds the connection gone.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <system_error>
#include <vector>

#include "config/error_kind.hpp"
#include "store/redis/async_client.hpp"

namespace dispatcher::web {

// The link's own failures beside redis::Errc (cannot_connect, connection_lost, disconnected).
enum class LinkErrc {
  timed_out = 1,  // no answer within the link's timeout (timeout)
  refused,        // Redis answered a command with an error; its words are logged (server)
};
const KindedCategory& link_category() noexcept;
inline std::error_code make_error_code(LinkErrc e) noexcept {
  return {static_cast<int>(e), link_category()};
}

class RedisLink {
 public:
  using Done = std::function<void(std::error_code ec, std::vector<redis::Reply> replies)>;

  RedisLink(boost::asio::io_context& io, redis::Endpoint endpoint,
            std::chrono::milliseconds timeout);
  ~RedisLink();

  // Runs one batch. `done` runs exactly once, on the loop and never inside exec(): with the
  // replies, or with an error code (a redis::Errc, or a LinkErrc above). An answer that comes
  // after the timeout is dropped.
  void exec(std::vector<redis::Command> cmds, Done done);
  // Shutdown: drops the connection (outstanding batches fail with redis::Errc::disconnected)
  // and fails later batches the same way instead of reconnecting.
  void close();

 private:
  boost::asio::io_context& io_;
  const redis::Endpoint endpoint_;
  const std::chrono::milliseconds timeout_;
  std::unique_ptr<redis::AsyncClient> client_;
  bool closed_ = false;
};

}  // namespace dispatcher::web

template <>
struct std::is_error_code_enum<dispatcher::web::LinkErrc> : std::true_type {};
