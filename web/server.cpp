#include "web/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <list>
#include <map>

#include "web/app.hpp"
#include "web/problem.hpp"

namespace dispatcher::web {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

class Server;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, asio::ip::address remote, std::shared_ptr<Server> server);
  ~Session();
  void start() { do_read(); }
  void stop();  // shutdown: close when idle, else after the answer in flight
  // Waiting for a request's headers (between requests too): what the global cap sheds first.
  bool idle() const { return waiting_ && !closed_; }
  void shed() { do_close(); }

 private:
  void do_read();
  void on_header(error_code ec, std::size_t);
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
  bool waiting_ = false;
  bool closed_ = false;
  bool keep_alive_ = false;
};

// The listener owns itself, as Beast's does: every handler it leaves on the loop holds it, and so
// does every session. The app it hands requests to is serve()'s, which outlives the loop: nothing
// runs on the loop after serve() returns (what is left is destroyed with the io_context).
class Server : public std::enable_shared_from_this<Server> {
 public:
  Server(asio::io_context& io, App& app, const ServeOptions& o, std::size_t max_connections)
      : io_(io),
        app_(app),
        options_(o),
        max_connections_(max_connections),
        acceptor_(io),
        signals_(io, SIGINT, SIGTERM),
        drain_(io),
        accept_pause_(io) {}

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
  // A session's connection is closed: its slot, and its address's, are free again.
  void release(const asio::ip::address& a) {
    auto it = per_client_.find(a);
    if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
    if (open_ > 0) --open_;
  }

 private:
  void do_accept() {
    acceptor_.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
      self->on_accept(ec, std::move(socket));
    });
  }
  void on_accept(error_code ec, tcp::socket socket) {
    if (stopping_ || ec == asio::error::operation_aborted) return;
    if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
        ec == asio::error::no_memory) {
      // Out of fds: shed an idle connection, and pause accepting briefly instead of spinning.
      shed_oldest_idle();
      accept_pause_.expires_after(std::chrono::milliseconds(50));
      accept_pause_.async_wait([self = shared_from_this()](error_code e) {
        if (!e && !self->stopping_) self->do_accept();
      });
      return;
    }
    if (ec) {
      spdlog::warn("http: accept: {}", ec.message());
      return do_accept();
    }
    error_code ignored;
    auto ep = socket.remote_endpoint(ignored);
    asio::ip::address remote = ep.address();
    if (remote.is_v6() && remote.to_v6().is_v4_mapped())
      remote = remote.to_v6().to_v4();  // one client, one count, whichever family it came by
    auto known = per_client_.find(remote);
    if (known != per_client_.end() && known->second >= options_.max_connections_per_client) {
      refuse(socket, "per_client");
    } else if (open_ >= max_connections_ && !shed_oldest_idle()) {
      refuse(socket, "global_busy");
    } else {
      ++per_client_[remote];  // looked up again: shedding may have erased an entry
      ++open_;
      sessions_.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
      auto s = std::make_shared<Session>(std::move(socket), remote, shared_from_this());
      sessions_.push_back(s);
      s->start();
    }
    do_accept();
  }
  // Closes the oldest connection waiting for a request; false when every one is busy.
  bool shed_oldest_idle() {
    sessions_.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      auto s = it->lock();
      if (s && s->idle()) {
        sessions_.erase(it);
        s->shed();
        app_.metrics().inc("dispatcher_http_connections_shed_total", {{"reason", "global_idle"}});
        return true;
      }
    }
    return false;
  }
  void refuse(tcp::socket& socket, const char* reason) {
    // Counted, not logged: a flood must not become a flood of log lines.
    app_.metrics().inc("dispatcher_http_connections_shed_total", {{"reason", reason}});
    error_code ignored;
    socket.set_option(asio::socket_base::linger(true, 0), ignored);  // RST: no TIME_WAIT here
    socket.close(ignored);
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
  const std::size_t max_connections_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer drain_;
  asio::steady_timer accept_pause_;
  std::list<std::weak_ptr<Session>> sessions_;           // oldest first
  std::map<asio::ip::address, std::size_t> per_client_;  // open connections per address
  std::size_t open_ = 0;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point deadline_;
};

Session::Session(tcp::socket socket, asio::ip::address remote, std::shared_ptr<Server> server)
    : stream_(std::move(socket)), server_(std::move(server)), remote_(remote) {}

Session::~Session() { do_close(); }

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
  // The headers within the short timeout (an idle or slow client is closed first), the body
  // within the longer one.
  waiting_ = true;
  stream_.expires_after(server_->options().header_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&Session::on_header, shared_from_this()));
}

void Session::on_header(error_code ec, std::size_t n) {
  waiting_ = false;
  if (ec || parser_->is_done()) return on_read(ec, n);
  stream_.expires_after(server_->options().read_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&Session::on_read, shared_from_this()));
}

void Session::on_read(error_code ec, std::size_t) {
  waiting_ = false;
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted)
    return do_close();
  if (ec == http::error::body_limit)
    return send_error(http::status::payload_too_large, "request body too large");
  if (ec == http::error::header_limit)
    return send_error(http::status::request_header_fields_too_large, "headers too large");
  if (ec) {
    if (&ec.category() == &http::make_error_code(http::error::bad_target).category())
      return send_error(http::status::bad_request, "malformed request");
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
  res.set(http::field::content_type, std::string(problem_content_type));
  res.body() = problem_text(problem(s, text));
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
  waiting_ = false;
  if (closed_) return;
  closed_ = true;
  server_->release(remote_);
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.socket().close(ignored);
}

}  // namespace

namespace {

// The fd limit raised to its hard maximum; the connection cap kept below it, with room for the
// Redis links, the log and the files a request opens.
std::size_t connection_cap(std::size_t wanted) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return std::min<std::size_t>(wanted, 512);
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  const auto fds = static_cast<std::size_t>(lim.rlim_cur == RLIM_INFINITY ? 1 << 20 : lim.rlim_cur);
  constexpr std::size_t reserve = 128;
  return std::max<std::size_t>(1, std::min(wanted, fds > 2 * reserve ? fds - reserve : fds / 2));
}

void check_webhook_options(const ServeOptions& o) {
  if (!o.twilio_auth_token.empty() && o.public_url.empty())
    throw std::runtime_error(
        "--twilio-auth-token-env needs --public-url (the scheme://host Twilio calls, e.g. "
        "https://hooks.example.jp): Twilio's signature covers the URL, and the Host header is "
        "never trusted");
  if (!o.public_url.empty() && o.public_url.rfind("https://", 0) != 0 &&
      o.public_url.rfind("http://", 0) != 0)
    throw std::runtime_error("--public-url must start with https:// or http://: " + o.public_url);
  if (o.max_connections_per_client == 0 || o.max_connections == 0)
    throw std::runtime_error("--max-connections and --max-connections-per-client must be >= 1");
}

}  // namespace

int serve(const Runtime& rt, const ApiKeys& keys, const ServeOptions& options) {
  check_webhook_options(options);
  const std::size_t max_connections = connection_cap(options.max_connections);
  // Before the loop runs: with no Redis configured this starts the embedded redis-server (a
  // blocking fork/exec and wait). On the loop the app only reconnects to this endpoint.
  redis::Endpoint redis = rt.redis_endpoint();
  asio::io_context io;
  App app(io, rt, keys, options, std::move(redis), &system_now);
  auto server = std::make_shared<Server>(io, app, options, max_connections);
  auto ep = server->listen(options.listen);
  std::printf("listening on %s:%u\n", ep.address().to_string().c_str(), ep.port());
  std::fflush(stdout);
  spdlog::info(
      "serve: listening on {}:{} ({} API key{}; at most {} connections, {} per client address)",
      ep.address().to_string(), ep.port(), keys.size(), keys.size() == 1 ? "" : "s",
      max_connections, options.max_connections_per_client);
  if (options.twilio_auth_token.empty())
    spdlog::info(
        "serve: no Twilio auth token: POST /webhooks/sms/inbound and Twilio's form on "
        "/webhooks/status are disabled (404)");
  io.run();
  spdlog::info("serve: stopped");
  return 0;
}

}  // namespace dispatcher::web
