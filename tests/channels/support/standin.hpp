// Test support for the channel tests: child processes (the loopback stand-ins), a scratch
// folder, a self-signed certificate made with the openssl CLI, and a bounded event-loop runner.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace dispatcher::channels::testing {

namespace fs = std::filesystem;

inline std::string python() { return "/usr/bin/python3"; }  // Debian's, which has aiosmtpd and h2
inline std::string standin(const std::string& name) {
  return std::string(DISPATCHER_SOURCE_DIR) + "/tests/channels/standins/" + name;
}

// A scratch folder removed at the end.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("channels-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A child process, killed (SIGTERM, then SIGKILL) and reaped when this goes away.
class Process {
 public:
  explicit Process(std::vector<std::string> argv) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~Process() { stop(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Reads one line of the child's stdout, waiting at most `timeout`.
  std::string read_line(std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string line;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) continue;
      char c;
      if (::read(out_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line += c;
    }
    throw std::runtime_error("stand-in did not answer in time: " + line);
  }

  // Reads "PORT <n>".
  int port() {
    const std::string l = read_line();
    if (l.rfind("PORT ", 0) != 0) throw std::runtime_error("unexpected stand-in output: " + l);
    return std::stoi(l.substr(5));
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {  // at most ~2 s, then SIGKILL
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      ::usleep(20'000);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (out_ >= 0) ::close(out_);
    out_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

// A self-signed certificate for 127.0.0.1/localhost (it is its own CA: pass it as ca_file).
struct TestCert {
  std::string cert, key;
};
inline TestCert make_cert(const TempDir& dir) {
  TestCert c{dir / "cert.pem", dir / "key.pem"};
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
      " -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost"
      " -keyout " +
      c.key + " -out " + c.cert + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl req failed");
  return c;
}
inline std::string make_key(const TempDir& dir, const std::string& name, bool rsa) {
  const std::string path = dir / name;
  const std::string cmd =
      rsa ? "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + path +
                " >/dev/null 2>&1"
          : "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + path +
                " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl genpkey failed");
  return path;
}

// Runs the loop until `done()` or the time bound; returns done().
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds bound = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  io.restart();
  while (!done() && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(std::chrono::milliseconds(50));
  return done();
}

// The stand-in's request log, one JSON object a line.
inline std::vector<nlohmann::json> read_log(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// An HTTP(S) stand-in of the given mode.
struct HttpStandin {
  std::string log;
  std::unique_ptr<Process> proc;
  int port = 0;
  HttpStandin(const TempDir& dir, const std::string& mode, const TestCert* cert,
              const nlohmann::json& script = {}, const std::string& verify_key = {},
              std::vector<std::string> extra = {}) {
    static int n = 0;
    const std::string tag = mode + std::to_string(++n);
    log = dir / (tag + ".log");
    std::vector<std::string> argv{python(), standin("http_standin.py"), "--mode", mode, "--log",
                                  log};
    if (cert) argv.insert(argv.end(), {"--cert", cert->cert, "--key", cert->key});
    if (!script.is_null()) {
      const std::string sp = dir / (tag + ".script.json");
      write_file(sp, script.dump());
      argv.insert(argv.end(), {"--script", sp});
    }
    if (!verify_key.empty()) argv.insert(argv.end(), {"--verify-key", verify_key});
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc = std::make_unique<Process>(argv);
    port = proc->port();
  }
  std::string base(bool tls = true) const {
    return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port);
  }
  std::vector<nlohmann::json> requests() const { return read_log(log); }
};

}  // namespace dispatcher::channels::testing

#include "channels/provider.hpp"
#include "config/clock.hpp"

namespace dispatcher::channels::testing {

// A clock the test moves by hand.
struct FakeClock {
  TimePoint t = from_epoch_ms(1'800'000'000'000);
  NowFn fn() {
    return [this] { return t; };
  }
  void advance(std::chrono::milliseconds d) { t += d; }
};

// Sends one envelope and runs the loop until its outcome (bounded).
inline Outcome send_sync(boost::asio::io_context& io, Provider& p, const Envelope& e,
                         std::chrono::milliseconds bound = std::chrono::seconds(20)) {
  std::optional<Outcome> got;
  p.send(e, [&](Outcome o) { got = std::move(o); });
  if (!run_until(
          io, [&] { return got.has_value(); }, bound))
    throw std::runtime_error("no outcome in time");
  return *got;
}

}  // namespace dispatcher::channels::testing
