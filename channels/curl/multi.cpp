#include "channels/curl/multi.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cctype>
#include <cstring>
#include <map>

namespace dispatcher::channels::curl {

namespace asio = boost::asio;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// Curl's global init, once per process, before the first handle (thread-safe since 7.84, but
// done from a function-local static anyway).
void global_init() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)done;
}

}  // namespace

std::optional<std::string_view> Response::header(std::string_view name) const {
  const std::string key = lower(name);
  for (const auto& [k, v] : headers)
    if (k == key) return std::string_view(v);
  return std::nullopt;
}

// One socket curl asked about. Owned sockets were opened by us (open_socket) and are closed by us
// (close_socket); foreign descriptors (e.g. the threaded resolver's socketpair) are only watched
// and released, never closed.
struct Sock {
  std::optional<asio::ip::tcp::socket> owned;
  std::optional<asio::posix::stream_descriptor> foreign;
  int want = 0;  // CURL_POLL_IN | CURL_POLL_OUT
  bool reading = false, writing = false;
  bool closed = false;

  template <class H>
  void wait(bool read, H&& h) {
    if (owned)
      owned->async_wait(read ? asio::socket_base::wait_read : asio::socket_base::wait_write,
                        std::forward<H>(h));
    else
      foreign->async_wait(
          read ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write,
          std::forward<H>(h));
  }
  void cancel() {
    boost::system::error_code ec;
    if (owned) owned->cancel(ec);
    if (foreign) foreign->cancel(ec);
  }
};

// State a transfer's C callbacks point at; owned by Impl, freed after curl_multi_remove_handle.
struct Transfer {
  CURL* easy = nullptr;
  Request req;
  Response resp;
  ResponseHandler done;
  curl_slist* headers = nullptr;
  curl_slist* rcpt = nullptr;
  std::size_t read_offset = 0;
  bool too_large = false;
  char errbuf[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    curl_slist_free_all(headers);
    curl_slist_free_all(rcpt);
  }
};

struct Multi::Impl : std::enable_shared_from_this<Multi::Impl> {
  asio::io_context& io;
  MultiOptions options;
  asio::steady_timer timer;
  CURLM* multi = nullptr;
  std::map<curl_socket_t, std::shared_ptr<Sock>> sockets;
  std::map<CURL*, std::unique_ptr<Transfer>> transfers;
  std::vector<CURL*> idle;

  Impl(asio::io_context& io_, MultiOptions o) : io(io_), options(o), timer(io_) {
    global_init();
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    if (o.max_host_connections > 0)
      curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, o.max_host_connections);
    if (o.max_total_connections > 0)
      curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, o.max_total_connections);
    if (o.max_connects > 0) curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, o.max_connects);
  }

  ~Impl() {
    timer.cancel();
    std::vector<CURL*> easies;
    for (auto& [easy, t] : transfers) {
      curl_multi_remove_handle(multi, easy);
      easies.push_back(easy);
    }
    curl_multi_cleanup(multi);  // closes cached connections through close_socket
    for (CURL* e : easies) curl_easy_cleanup(e);
    for (CURL* e : idle) curl_easy_cleanup(e);
    transfers.clear();  // handlers are dropped uncalled: the engine is gone with its loop
    for (auto& [fd, s] : sockets) {
      s->closed = true;
      s->cancel();
      if (s->foreign) s->foreign->release();
    }
  }

  // ---- curl → Asio -------------------------------------------------------------------------

  static curl_socket_t open_socket(void* clientp, curlsocktype purpose, curl_sockaddr* addr) {
    auto* self = static_cast<Impl*>(clientp);
    if (purpose != CURLSOCKTYPE_IPCXN || (addr->family != AF_INET && addr->family != AF_INET6) ||
        addr->socktype != SOCK_STREAM)
      return CURL_SOCKET_BAD;
    auto s = std::make_shared<Sock>();
    s->owned.emplace(self->io);
    boost::system::error_code ec;
    s->owned->open(addr->family == AF_INET ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), ec);
    if (ec) return CURL_SOCKET_BAD;
    const curl_socket_t fd = s->owned->native_handle();
    if (auto old = self->sockets.find(fd); old != self->sockets.end()) old->second->closed = true;
    self->sockets[fd] = std::move(s);
    return fd;
  }

  static int close_socket(void* clientp, curl_socket_t fd) {
    auto* self = static_cast<Impl*>(clientp);
    auto it = self->sockets.find(fd);
    if (it == self->sockets.end() || !it->second->owned) return ::close(fd);
    auto s = it->second;
    self->sockets.erase(it);
    s->closed = true;
    boost::system::error_code ec;
    s->owned->close(ec);  // cancels pending waits; their handlers see `closed` and stop
    return 0;
  }

  static int on_socket(CURL*, curl_socket_t fd, int what, void* userp, void*) {
    auto* self = static_cast<Impl*>(userp);
    auto it = self->sockets.find(fd);
    if (what == CURL_POLL_REMOVE) {
      if (it == self->sockets.end()) return 0;
      auto s = it->second;
      s->want = 0;
      s->cancel();
      if (s->foreign) {  // not ours: stop watching, never close
        s->closed = true;
        s->foreign->release();
        self->sockets.erase(it);
      }
      return 0;
    }
    std::shared_ptr<Sock> s;
    if (it == self->sockets.end()) {
      s = std::make_shared<Sock>();
      s->foreign.emplace(self->io);
      boost::system::error_code ec;
      s->foreign->assign(fd, ec);
      if (ec) return -1;
      self->sockets[fd] = s;
    } else {
      s = it->second;
    }
    s->want = what;
    self->arm(fd, s);
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    if (timeout_ms < 0) {
      self->timer.cancel();
      return 0;
    }
    // 0 means "soon": the wait completes through the loop, never inside this callback.
    self->timer.expires_after(std::chrono::milliseconds(timeout_ms));
    self->timer.async_wait([weak = self->weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto me = weak.lock()) me->action(CURL_SOCKET_TIMEOUT, 0);
    });
    return 0;
  }

  void arm(curl_socket_t fd, const std::shared_ptr<Sock>& s) {
    if (s->closed) return;
    if ((s->want & CURL_POLL_IN) && !s->reading) {
      s->reading = true;
      s->wait(true, [weak = weak_from_this(), s, fd](const boost::system::error_code& ec) {
        s->reading = false;
        on_ready(weak, s, fd, ec, CURL_CSELECT_IN);
      });
    }
    if ((s->want & CURL_POLL_OUT) && !s->writing) {
      s->writing = true;
      s->wait(false, [weak = weak_from_this(), s, fd](const boost::system::error_code& ec) {
        s->writing = false;
        on_ready(weak, s, fd, ec, CURL_CSELECT_OUT);
      });
    }
  }

  static void on_ready(const std::weak_ptr<Impl>& weak, const std::shared_ptr<Sock>& s,
                       curl_socket_t fd, const boost::system::error_code& ec, int event) {
    auto self = weak.lock();
    if (!self || s->closed) return;
    if (!ec) {
      if (s->want & (event == CURL_CSELECT_IN ? CURL_POLL_IN : CURL_POLL_OUT))
        self->action(fd, event);
    } else if (ec != asio::error::operation_aborted) {
      self->action(fd, CURL_CSELECT_ERR);
    }
    // Still the same socket and curl still wants it: wait again (also after a cancel that raced
    // with a new interest).
    auto it = self->sockets.find(fd);
    if (it != self->sockets.end() && it->second == s) self->arm(fd, s);
  }

  void action(curl_socket_t fd, int events) {
    int running = 0;
    curl_multi_socket_action(multi, fd, events, &running);
    drain();
  }

  // Every finished transfer: remove it, recycle its handle, then call its handler.
  void drain() {
    std::vector<std::pair<CURL*, CURLcode>> finished;
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left))
      if (m->msg == CURLMSG_DONE) finished.emplace_back(m->easy_handle, m->data.result);
    for (auto [easy, code] : finished) {
      auto it = transfers.find(easy);
      if (it == transfers.end()) continue;
      std::unique_ptr<Transfer> t = std::move(it->second);
      transfers.erase(it);
      curl_multi_remove_handle(multi, easy);
      complete(*t, code);
      recycle(easy);
      auto done = std::move(t->done);
      Response resp = std::move(t->resp);
      t.reset();
      done(std::move(resp));
    }
  }

  void complete(Transfer& t, CURLcode code) {
    Response& r = t.resp;
    r.code = code;
    if (code != CURLE_OK) r.error = make_error_code(code);
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(t.easy, CURLINFO_HTTP_VERSION, &r.http_version);
    r.kind = classify(code);
    if (code == CURLE_OK && t.req.url.rfind("http", 0) == 0) r.kind = classify_http(r.status);
    if (t.too_large) {
      r.kind = ErrorKind::server;
      r.error_text = "response larger than " + std::to_string(t.req.max_response_bytes) + " bytes";
    } else if (code != CURLE_OK) {
      r.error_text = t.errbuf[0] ? std::string(t.errbuf) : std::string(curl_easy_strerror(code));
    }
  }

  void recycle(CURL* easy) {
    if (idle.size() < options.idle_handles) {
      curl_easy_reset(easy);
      idle.push_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
  }

  // ---- per-transfer C callbacks (userdata = Transfer*) ----------------------------------------

  static size_t on_write(char* p, size_t size, size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    const size_t len = size * n;
    if (t->resp.body.size() + len > t->req.max_response_bytes) {
      t->too_large = true;
      return 0;  // CURLE_WRITE_ERROR
    }
    t->resp.body.append(p, len);
    return len;
  }

  static size_t on_header(char* p, size_t size, size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    const size_t len = size * n;
    std::string_view line = trim(std::string_view(p, len));
    if (line.rfind("HTTP/", 0) == 0) {
      t->resp.headers.clear();  // a new response (after 100-continue)
    } else if (auto colon = line.find(':');
               colon != std::string_view::npos && t->resp.headers.size() < 200) {
      t->resp.headers.emplace_back(lower(trim(line.substr(0, colon))),
                                   std::string(trim(line.substr(colon + 1))));
    }
    return len;
  }

  static size_t on_read(char* buf, size_t size, size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    const size_t len = std::min(size * n, t->req.body.size() - t->read_offset);
    std::memcpy(buf, t->req.body.data() + t->read_offset, len);
    t->read_offset += len;
    return len;
  }

  // SMTP reply text: libcurl exposes only the code, so keep the last reply line it read.
  static int on_debug(CURL*, curl_infotype type, char* data, size_t size, void* ud) {
    if (type != CURLINFO_HEADER_IN) return 0;
    auto* t = static_cast<Transfer*>(ud);
    std::string_view chunk = trim(std::string_view(data, size));
    if (auto nl = chunk.rfind('\n'); nl != std::string_view::npos)
      chunk = trim(chunk.substr(nl + 1));
    // The 221 answering the QUIT that follows a failed command would hide the reply that mattered.
    if (!chunk.empty() && chunk.rfind("221", 0) != 0)
      t->resp.last_reply.assign(chunk.substr(0, 512));
    return 0;
  }

  // ---- starting a transfer -------------------------------------------------------------------

  void start(Request req, ResponseHandler done) {
    if (transfers.size() >= options.max_in_flight) {
      fail_later(std::move(done), CURLE_AGAIN, "engine at capacity");
      return;
    }
    CURL* easy = nullptr;
    if (!idle.empty()) {
      easy = idle.back();
      idle.pop_back();
    } else {
      easy = curl_easy_init();
    }
    if (!easy) {
      fail_later(std::move(done), CURLE_OUT_OF_MEMORY, "curl_easy_init failed");
      return;
    }
    auto t = std::make_unique<Transfer>();
    t->easy = easy;
    t->req = std::move(req);
    t->done = std::move(done);
    setup(*t);
    transfers.emplace(easy, std::move(t));
    if (CURLMcode mc = curl_multi_add_handle(multi, easy); mc != CURLM_OK) {
      auto node = transfers.extract(easy);
      auto d = std::move(node.mapped()->done);
      node.mapped().reset();
      recycle(easy);
      fail_later(std::move(d), CURLE_FAILED_INIT, curl_multi_strerror(mc));
    }
  }

  void setup(Transfer& t) {
    CURL* e = t.easy;
    const Request& r = t.req;
    const bool smtp = r.url.rfind("smtp", 0) == 0;
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,smtp,smtps");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Impl::open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &Impl::close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    if (!r.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, r.ca_file.c_str());
    if (!r.username.empty()) {
      curl_easy_setopt(e, CURLOPT_USERNAME, r.username.c_str());
      curl_easy_setopt(e, CURLOPT_PASSWORD, r.password.c_str());
    }
    for (const auto& h : r.headers) t.headers = curl_slist_append(t.headers, h.c_str());
    if (smtp) {
      curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(e, CURLOPT_READFUNCTION, &Impl::on_read);
      curl_easy_setopt(e, CURLOPT_READDATA, &t);
      curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      curl_easy_setopt(e, CURLOPT_MAIL_FROM, r.mail_from.c_str());
      for (const auto& rc : r.mail_rcpt) t.rcpt = curl_slist_append(t.rcpt, rc.c_str());
      curl_easy_setopt(e, CURLOPT_MAIL_RCPT, t.rcpt);
      if (r.require_tls) curl_easy_setopt(e, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
      curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);  // only so that on_debug sees the reply lines
      curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, &Impl::on_debug);
      curl_easy_setopt(e, CURLOPT_DEBUGDATA, &t);
      return;
    }
    if (t.headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
    if (r.method == "POST") {
      curl_easy_setopt(e, CURLOPT_POST, 1L);
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    } else if (r.method != "GET") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    if (r.http2) {
      curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
      curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    }
  }

  void fail_later(ResponseHandler done, CURLcode code, std::string text) {
    asio::post(io, [done = std::move(done), code, text = std::move(text)]() {
      Response r;
      r.code = code;
      r.error = make_error_code(code);
      r.kind = classify(code);
      r.error_text = text;
      done(std::move(r));
    });
  }
};

Multi::Multi(asio::io_context& io, MultiOptions options)
    : io_(io), impl_(std::make_shared<Impl>(io, options)) {}

Multi::~Multi() = default;

void Multi::perform(Request request, ResponseHandler done) {
  impl_->start(std::move(request), std::move(done));
}

std::size_t Multi::in_flight() const noexcept { return impl_->transfers.size(); }

}  // namespace dispatcher::channels::curl
