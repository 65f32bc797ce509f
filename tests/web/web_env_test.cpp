// The WebEnv fixture (not tests): named *_test.cpp only so that tests/CMakeLists.txt globs it into
// web_tests.
#include "web/web_env.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "config/config.hpp"
#include "dispatcher/runtime.hpp"
#include "model/unsubscribe_token.hpp"
#include "web/text.hpp"

namespace web_testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using dispatcher::redis::cmd;

WebEnv::WebEnv(const std::vector<std::string>& serve_args,
               const std::map<std::string, std::string>& extra_env, const std::string& extra_config)
    : redis_(tmp_.path()) {
  testing_support::write_file(
      tmp_.path() / "dispatcher.yaml",
      "consumer:\n  block_ms: 100\n  visibility_timeout_ms: 1000\n  scheduler_interval_ms: 50\n" +
          extra_config);
  testing_support::write_file(
      tmp_.path() / "api_keys.yaml",
      fmt::format("- {{sha256: {}, sender: operator}}\n- {{sha256: {}, sender: \"clinic:c-102\"}}\n"
                  "- {{sha256: {}, sender: \"clinic:c-200\"}}\n",
                  dispatcher::web::sha256_hex(operator_key),
                  dispatcher::web::sha256_hex(clinic_key),
                  dispatcher::web::sha256_hex(other_clinic_key)));
  std::vector<std::string> args{
      "--config", (tmp_.path() / "dispatcher.yaml").string(), "serve", "--listen", "127.0.0.1:0",
      "--keys",   (tmp_.path() / "api_keys.yaml").string()};
  args.insert(args.end(), serve_args.begin(), serve_args.end());
  auto e = env();
  for (const auto& [k, v] : extra_env) e[k] = v;
  server_ = testing_support::spawn_dispatcher(args, tmp_.path(), e);
  running_ = true;
  bool up = testing_support::wait_until(
      [&] {
        for (const auto& line : testing_support::read_lines(server_.out_file)) {
          auto colon = line.rfind(':');
          if (line.rfind("listening on ", 0) == 0 && colon != std::string::npos) {
            port_ = std::stoi(line.substr(colon + 1));
            return true;
          }
        }
        return false;
      },
      std::chrono::seconds(15));
  if (!up) {
    auto r = stop_server();
    throw std::runtime_error("dispatcher serve did not start: " + r.err);
  }
}

WebEnv::~WebEnv() {
  if (running_) stop_server();
}

Result WebEnv::stop_server() {
  if (!running_) return {};
  running_ = false;
  ::kill(server_.pid, SIGTERM);
  return server_.wait();
}

std::map<std::string, std::string> WebEnv::env() const {
  return {{"DISPATCHER_REDIS_URL", redis_.url()},
          {"DISPATCHER_DATABASE_URL", db_.url()},
          {"DISPATCHER_DATA_DIR", data_dir().string()}};
}

HttpResult WebEnv::request(const std::string& method, const std::string& target,
                           const std::string& body,
                           const std::map<std::string, std::string>& headers) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(20));
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                         static_cast<unsigned short>(port_)));
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, fmt::format("127.0.0.1:{}", port_));
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  beast::error_code ec;
  http::read(stream, buffer, parser, ec);
  HttpResult out;
  if (ec) throw std::runtime_error("http read: " + ec.message());
  auto res = parser.release();
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    out.headers[name] = std::string(f.value());
  }
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  return out;
}

std::string WebEnv::raw(const std::string& bytes) {
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  sock.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                       static_cast<unsigned short>(port_)));
  asio::write(sock, asio::buffer(bytes));
  std::string out;
  beast::error_code ec;
  char buf[4096];
  for (;;) {
    std::size_t n = sock.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

Result WebEnv::run(const std::vector<std::string>& args, const std::string& stdin_text) {
  fs::path in;
  if (!stdin_text.empty()) {
    in = tmp_.path() / fmt::format("stdin-web-{}.txt", files_++);
    testing_support::write_file(in, stdin_text);
  }
  std::vector<std::string> a{"--config", (tmp_.path() / "dispatcher.yaml").string()};
  a.insert(a.end(), args.begin(), args.end());
  return testing_support::run_dispatcher(a, tmp_.path(), env(), in);
}

std::map<std::string, std::string> WebEnv::snapshot() const {
  auto r = redis();
  std::map<std::string, std::string> out;
  auto keys = r.run(cmd("KEYS", "*"));
  for (const auto& k : keys.elements) {
    // A hash is compared by its fields, sorted: one stored as a hash table (a long value) may be
    // rehashed by a mere read, which reorders its DUMP without changing anything in it.
    if (r.run(cmd("TYPE", k.str)).str == "hash") {
      std::map<std::string, std::string> fields;
      auto all = r.run(cmd("HGETALL", k.str));
      for (std::size_t i = 0; i + 1 < all.elements.size(); i += 2)
        fields[all.elements[i].str] = all.elements[i + 1].str;
      std::string flat = "hash";
      for (const auto& [f, v] : fields) flat += "\n" + f + "=" + v;
      out[k.str] = flat + "\nttl=" + std::to_string(r.run(cmd("PTTL", k.str)).integer > 0);
      continue;
    }
    out[k.str] = r.run(cmd("DUMP", k.str)).str;
  }
  return out;
}

std::string WebEnv::secret() const {
  std::ifstream in(data_dir() / "secret");
  std::string s;
  std::getline(in, s);
  if (s.empty()) throw std::runtime_error("no secret under " + data_dir().string());
  return s;
}

std::string WebEnv::token_for(const std::string& subject, const std::string& scope,
                              long long expires_in_s, std::optional<dispatcher::Channel> channel) {
  const std::string sec = secret();
  dispatcher::TokenClaims c;
  c.ref = dispatcher::subject_ref(subject, sec);
  c.scope = scope;
  c.channel = channel;
  c.expires = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count() +
              expires_in_s;
  redis().run(cmd("SET", "dsp:uref:" + c.ref, subject));
  return dispatcher::make_token(c, sec).value();
}

std::string WebEnv::state_field(const std::string& subject, const std::string& field) const {
  auto r = redis().run(cmd("HGET", "dsp:state:" + subject, field));
  return r.is_nil() ? std::string{} : r.str;
}

nlohmann::json WebEnv::explain(const nlohmann::json& message) {
  auto r = run({"explain", "-"}, message.dump() + "\n");
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) return nlohmann::json::parse(line, nullptr, false);
  throw std::runtime_error("explain printed nothing: " + r.err);
}

}  // namespace web_testing
