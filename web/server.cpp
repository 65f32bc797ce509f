#include "web/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <list>

#include "web/app.hpp"

namespace dispatcher::web {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

class Server;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Server> server);
  void start() { do_read(); }
  void stop();  // shutdown: close when idle, else after the answer in flight

 private:
  void do_read();
  void on_read(error_code ec, std::size_t);
  void do_write(Response res);
  void on_write(bool close, error_code ec, std::size_t);
  void send_error(http::status s, const char* text);
  void do_close();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> res_;
  std::shared_ptr<Server> server_;  // the listener: its options, its app, whether it is stopping
  asio::ip::address remote_;
  bool busy_ = false;
  bool keep_alive_ = false;
};

// The listener owns itself, as Beast's does: every handler it leaves on the loop holds it, and so
// does every session. The app it hands requests to is serve()'s, which outlives the loop: nothing
// runs on the loop after serve() returns (what is left is destroyed with the io_context).
class Server : public std::enable_shared_from_this<Server> {
 public:
  Server(asio::io_context& io, App& app, const ServeOptions& o)
      : io_(io), app_(app), options_(o), acceptor_(io), signals_(io, SIGINT, SIGTERM), drain_(io) {}

  tcp::endpoint listen(const std::string& host_port) {
    auto colon = host_port.rfind(':');
    if (colon == std::string::npos)
      throw std::runtime_error("--listen must be HOST:PORT: " + host_port);
    std::string host = host_port.substr(0, colon);
    if (host.size() > 1 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    int port = 0;
    try {
      port = std::stoi(host_port.substr(colon + 1));
    } catch (...) {
      throw std::runtime_error("--listen must be HOST:PORT: " + host_port);
    }
    if (port < 0 || port > 65535) throw std::runtime_error("port out of range: " + host_port);
    error_code ec;
    auto addr = asio::ip::make_address(host.empty()          ? "0.0.0.0"
                                       : host == "localhost" ? "127.0.0.1"
                                                             : host,
                                       ec);
    if (ec) throw std::runtime_error("--listen: not an IP address: " + host);
    tcp::endpoint ep(addr, static_cast<unsigned short>(port));
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep, ec);
    if (ec) throw std::runtime_error("cannot listen on " + host_port + ": " + ec.message());
    acceptor_.listen(asio::socket_base::max_listen_connections);
    signals_.async_wait([self = shared_from_this()](error_code ec, int sig) {
      if (!ec) self->on_signal(sig);
    });
    do_accept();
    return acceptor_.local_endpoint();
  }

  App& app() { return app_; }
  const ServeOptions& options() const { return options_; }
  bool stopping() const { return stopping_; }

 private:
  void do_accept() {
    acceptor_.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
      self->on_accept(ec, std::move(socket));
    });
  }
  void on_accept(error_code ec, tcp::socket socket) {
    if (stopping_ || ec == asio::error::operation_aborted) return;
    if (!ec) {
      sessions_.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
      if (sessions_.size() >= 1024) {
        spdlog::warn("http: too many connections, refusing one");
      } else {
        auto s = std::make_shared<Session>(std::move(socket), shared_from_this());
        sessions_.push_back(s);
        s->start();
      }
    } else {
      spdlog::warn("http: accept: {}", ec.message());
    }
    do_accept();
  }
  void on_signal(int sig) {
    spdlog::info("serve: signal {}, stopping: no new connections, finishing requests in flight",
                 sig);
    stopping_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    for (auto& w : sessions_)
      if (auto s = w.lock()) s->stop();
    deadline_ = std::chrono::steady_clock::now() + options_.drain_timeout;
    do_drain();
  }
  void do_drain() {
    sessions_.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
    if (sessions_.empty() || std::chrono::steady_clock::now() >= deadline_) {
      if (!sessions_.empty())
        spdlog::warn("serve: {} connection(s) still open at the deadline", sessions_.size());
      app_.close();
      io_.stop();
      return;
    }
    drain_.expires_after(std::chrono::milliseconds(20));
    drain_.async_wait([self = shared_from_this()](error_code) { self->do_drain(); });
  }

  asio::io_context& io_;
  App& app_;
  const ServeOptions& options_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer drain_;
  std::list<std::weak_ptr<Session>> sessions_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point deadline_;
};

Session::Session(tcp::socket socket, std::shared_ptr<Server> server)
    : stream_(std::move(socket)), server_(std::move(server)) {
  error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = ep.address();
}

void Session::stop() {
  if (!busy_) {
    error_code ignored;
    stream_.socket().cancel(ignored);
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
}

void Session::do_read() {
  busy_ = false;
  if (server_->stopping()) return do_close();
  parser_.emplace();
  parser_->body_limit(server_->options().body_limit);
  parser_->header_limit(static_cast<std::uint32_t>(server_->options().header_limit));
  stream_.expires_after(server_->options().read_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&Session::on_read, shared_from_this()));
}

void Session::on_read(error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted)
    return do_close();
  if (ec == http::error::body_limit)
    return send_error(http::status::payload_too_large, "request body too large\n");
  if (ec == http::error::header_limit)
    return send_error(http::status::request_header_fields_too_large, "headers too large\n");
  if (ec) {
    if (&ec.category() == &http::make_error_code(http::error::bad_target).category())
      return send_error(http::status::bad_request, "malformed request\n");
    return do_close();
  }
  busy_ = true;
  Request req = parser_->release();
  keep_alive_ = req.keep_alive();
  server_->app().handle(std::move(req), remote_, [self = shared_from_this()](Response res) {
    self->do_write(std::move(res));
  });
}

void Session::send_error(http::status s, const char* text) {
  busy_ = true;
  keep_alive_ = false;
  Response res{s, 11};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = text;
  spdlog::info("http - - {}", static_cast<int>(s));
  do_write(std::move(res));
}

void Session::do_write(Response res) {
  res.keep_alive(keep_alive_ && !server_->stopping());
  res.prepare_payload();
  res_ = std::make_shared<Response>(std::move(res));
  stream_.expires_after(server_->options().read_timeout);
  http::async_write(
      stream_, *res_,
      beast::bind_front_handler(&Session::on_write, shared_from_this(), res_->need_eof()));
}

void Session::on_write(bool close, error_code ec, std::size_t) {
  res_.reset();
  if (ec) return do_close();
  if (close) return do_close();
  do_read();
}

void Session::do_close() {
  busy_ = false;
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.socket().close(ignored);
}

}  // namespace

int serve(const Runtime& rt, const ApiKeys& keys, const ServeOptions& options) {
  // Before the loop runs: with no Redis configured this starts the embedded redis-server (a
  // blocking fork/exec and wait). On the loop the app only reconnects to this endpoint.
  redis::Endpoint redis = rt.redis_endpoint();
  asio::io_context io;
  App app(io, rt, keys, options, std::move(redis), &system_now);
  auto server = std::make_shared<Server>(io, app, options);
  auto ep = server->listen(options.listen);
  std::printf("listening on %s:%u\n", ep.address().to_string().c_str(), ep.port());
  std::fflush(stdout);
  spdlog::info("serve: listening on {}:{} ({} API key{})", ep.address().to_string(), ep.port(),
               keys.size(), keys.size() == 1 ? "" : "s");
  io.run();
  spdlog::info("serve: stopped");
  return 0;
}

}  // namespace dispatcher::web
