#include "store/pg/async_connection.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <deque>
#include <optional>

#include "store/pg/connection.hpp"
#include "store/pg/rows_of.hpp"

namespace dispatcher::pg {

namespace asio = boost::asio;

namespace {
struct Statement {
  std::string sql;
  std::vector<Value> params;
  RowsHandler done;
};
}  // namespace

// Every asio handler holds a shared_ptr to the state, so a handler that runs after the
// connection object is gone finds `conn` null and does nothing.
struct AsyncConnection::State : std::enable_shared_from_this<AsyncConnection::State> {
  explicit State(asio::io_context& io) : io(io) {}
  asio::io_context& io;
  PGconn* conn = nullptr;
  std::unique_ptr<asio::posix::stream_descriptor> sd;
  std::deque<Statement> queue;  // front() is on the wire when `busy`
  bool busy = false;
  bool read_pending = false, write_pending = false;
  std::optional<Rows> result;  // the statement under way: its first result
  std::string error;
  bool lost = false;

  void start_next() {
    if (busy || queue.empty() || !conn) return;
    if (lost) return fail_all();
    Statement& s = queue.front();
    std::vector<const char*> values;
    values.reserve(s.params.size());
    for (const auto& p : s.params) values.push_back(p ? p->c_str() : nullptr);
    if (!PQsendQueryParams(conn, s.sql.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0)) {
      spdlog::warn("postgresql: {}", one_line(PQerrorMessage(conn)));
      lost = PQstatus(conn) != CONNECTION_OK;
      if (lost) return fail_all();
      return finish(make_error_code(Errc::statement_failed), {});
    }
    busy = true;
    result.reset();
    error.clear();
    flush();
    arm_read();
  }

  void flush() {
    if (!conn) return;
    const int f = PQflush(conn);
    if (f < 0) return on_lost();
    if (f == 1 && !write_pending) {
      write_pending = true;
      sd->async_wait(asio::posix::stream_descriptor::wait_write,
                     [s = shared_from_this()](boost::system::error_code ec) {
                       s->write_pending = false;
                       if (ec || !s->conn) return;
                       s->flush();
                     });
    }
  }

  void arm_read() {
    if (read_pending || !busy || !conn) return;
    read_pending = true;
    sd->async_wait(asio::posix::stream_descriptor::wait_read,
                   [s = shared_from_this()](boost::system::error_code ec) {
                     s->read_pending = false;
                     if (ec || !s->conn) return;
                     s->on_readable();
                   });
  }

  void on_readable() {
    if (!PQconsumeInput(conn)) return on_lost();
    while (busy && !PQisBusy(conn)) {
      PGresult* r = PQgetResult(conn);
      if (!r) {  // the statement's results are all in
        // A server that ended the session says so in an error result first: that is a lost
        // connection, not a refused statement.
        if (PQstatus(conn) != CONNECTION_OK) return on_lost();
        busy = false;
        if (result) {
          finish({}, std::move(*result));
        } else {
          spdlog::warn("{}", error);
          finish(make_error_code(Errc::statement_failed), {});
        }
        start_next();
        return;
      }
      if (!result && error.empty()) {
        std::string why;
        auto rows = rows_of(r, conn, why);
        if (rows)
          result = std::move(rows);
        else
          error = std::move(why);
      }
      PQclear(r);
    }
    if (PQstatus(conn) != CONNECTION_OK) return on_lost();
    arm_read();
  }

  void finish(std::error_code ec, Rows rows) {
    Statement s = std::move(queue.front());
    queue.pop_front();
    busy = false;
    // On the loop, never inside this call chain: a handler may exec() again or drop us.
    asio::post(io, [done = std::move(s.done), ec, rows = std::move(rows)]() mutable {
      done(ec, std::move(rows));
    });
  }

  void on_lost() {
    if (!lost) spdlog::warn("postgresql: connection lost: {}", one_line(PQerrorMessage(conn)));
    lost = true;
    fail_all();
  }

  void fail_all() {
    busy = false;
    while (!queue.empty()) finish(make_error_code(Errc::connection_lost), {});
  }
};

std::unique_ptr<AsyncConnection> AsyncConnection::connect(asio::io_context& io,
                                                          const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (!c || PQstatus(c) != CONNECTION_OK) {
    std::string why = c ? one_line(PQerrorMessage(c)) : "out of memory";
    PQfinish(c);
    throw Error("postgresql: cannot connect: " + why);
  }
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  if (PQsetnonblocking(c, 1) != 0) {
    PQfinish(c);
    throw Error("postgresql: cannot make the connection non-blocking");
  }
  auto state = std::make_shared<State>(io);
  state->conn = c;
  state->sd = std::make_unique<asio::posix::stream_descriptor>(io, PQsocket(c));
  return std::unique_ptr<AsyncConnection>(new AsyncConnection(state));
}

void AsyncConnection::exec(std::string sql, std::vector<Value> params, RowsHandler done) {
  if (!state_->conn || state_->lost) {
    asio::post(state_->io,
               [done = std::move(done)] { done(make_error_code(Errc::connection_lost), {}); });
    return;
  }
  state_->queue.push_back({std::move(sql), std::move(params), std::move(done)});
  state_->start_next();
}

bool AsyncConnection::connected() const noexcept { return state_->conn && !state_->lost; }
std::size_t AsyncConnection::outstanding() const noexcept { return state_->queue.size(); }

AsyncConnection::~AsyncConnection() {
  if (state_->sd) {
    boost::system::error_code ignored;
    state_->sd->cancel(ignored);
    state_->sd->release();  // libpq owns and closes the socket
  }
  state_->queue.clear();
  PQfinish(state_->conn);
  state_->conn = nullptr;
}

}  // namespace dispatcher::pg
