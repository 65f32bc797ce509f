#include "channels/connect_probe.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "channels/line/line.hpp"
#include "channels/support/standin.hpp"

namespace dispatcher::channels {
namespace {

using namespace channels::testing;  // NOLINT
using namespace std::chrono_literals;

// A TCP socket on 127.0.0.1, port chosen by the OS. Listening, it takes connections (the kernel
// completes the handshake) but never says a word; not listening, it refuses them.
class SilentSocket {
 public:
  explicit SilentSocket(bool listening) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        (listening && ::listen(fd_, 16) != 0) ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("bind/listen");
    port_ = ntohs(a.sin_port);
  }
  ~SilentSocket() { ::close(fd_); }
  SilentSocket(const SilentSocket&) = delete;
  SilentSocket& operator=(const SilentSocket&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

ConnectTarget target(std::string url, std::string ca_file = {}) {
  ConnectTarget t;
  t.provider = "probe-test";
  t.url = std::move(url);
  t.ca_file = std::move(ca_file);
  return t;
}

std::string loopback(const char* scheme, int port) {
  return std::string(scheme) + "://127.0.0.1:" + std::to_string(port);
}

struct ProbeFixture : ::testing::Test {
  TempDir dir;
  TestCert cert = make_cert(dir);

  std::unique_ptr<Process> smtp(bool tls) {
    std::vector<std::string> argv{python(), standin("smtp_standin.py"), "--out", dir / "mail"};
    if (tls) argv.insert(argv.end(), {"--cert", cert.cert, "--key", cert.key});
    return std::make_unique<Process>(argv);
  }
};

TEST_F(ProbeFixture, PlainHttpEndpointIsReached) {
  HttpStandin server(dir, "plain", nullptr);
  const ProbeResult r = probe_connection(target(server.base(false) + "/v1/sms"), 10s);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.error.empty());
  EXPECT_LT(r.took, 10s);
  EXPECT_TRUE(server.requests().empty()) << "a handshake, never a request";
}

TEST_F(ProbeFixture, HttpsWithTheConfiguredCaCompletesTls) {
  HttpStandin server(dir, "plain", &cert);
  const ProbeResult r = probe_connection(target(server.base(true), cert.cert), 10s);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(ProbeFixture, LineReportsItsMonthlyQuotaAndItsUse) {
  HttpStandin server(dir, "line", &cert, {}, {}, {"--bearer", "line-token"});
  line::LineSettings s;
  s.base_url = server.base(true);
  s.channel_access_token = "line-token";
  s.ca_file = cert.cert;
  boost::asio::io_context io;
  curl::Multi multi(io);
  line::LineProvider p("line-main", s, multi);
  const auto targets = p.connect_targets();
  ASSERT_EQ(targets.size(), 1u);
  ProbeResult r = probe_connection(targets[0], 10s);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.report,
            "/v2/bot/message/quota: {\"type\":\"limited\",\"value\":1000}; "
            "/v2/bot/message/quota/consumption: {\"totalUsage\":0}");
  // A token LINE refuses is a failed check, with LINE's reason.
  ConnectTarget stale = targets[0];
  stale.bearer = "stale-token";
  r = probe_connection(stale, 10s);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("/v2/bot/message/quota: HTTP 401"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("stale-token"), std::string::npos) << "no secret in the message";
}

TEST_F(ProbeFixture, HttpsWithoutTheCaFailsVerification) {
  HttpStandin server(dir, "plain", &cert);
  // The system CAs do not know our self-signed certificate.
  const ProbeResult r = probe_connection(target(server.base(true)), 10s);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("certificate"), std::string::npos) << r.error;
}

TEST_F(ProbeFixture, HttpsToAPlainServerFails) {
  HttpStandin server(dir, "plain", nullptr);
  const ProbeResult r = probe_connection(target(server.base(true), cert.cert), 10s);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(ProbeFixture, ARefusedConnectionIsReportedQuickly) {
  SilentSocket closed(/*listening=*/false);
  const ProbeResult r = probe_connection(target(loopback("http", closed.port())), 10s);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.error.empty());
  EXPECT_LT(r.took, 5s) << "a refusal is no timeout";
}

TEST_F(ProbeFixture, ASilentSmtpServerTimesOutWithinTheBound) {
  SilentSocket silent(/*listening=*/true);
  const ProbeResult r = probe_connection(target(loopback("smtp", silent.port())), 500ms);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.error.empty());
  EXPECT_GE(r.took, 400ms) << "it waited for the greeting";
  EXPECT_LT(r.took, 5s) << "but no longer than the timeout allows";
}

TEST_F(ProbeFixture, ASilentTlsPeerTimesOutWithinTheBound) {
  SilentSocket silent(/*listening=*/true);
  const ProbeResult r =
      probe_connection(target(loopback("https", silent.port()), cert.cert), 500ms);
  EXPECT_FALSE(r.ok);
  EXPECT_GE(r.took, 400ms);
  EXPECT_LT(r.took, 5s);
}

TEST_F(ProbeFixture, SmtpGreetingAndEhlo) {
  auto server = smtp(false);
  const int port = server->port();
  const ProbeResult r = probe_connection(target(loopback("smtp", port)), 10s);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(fs::is_empty(dir / "mail")) << "nothing is sent";
}

TEST_F(ProbeFixture, SmtpStartTlsWithTheConfiguredCa) {
  auto server = smtp(true);
  const int port = server->port();
  ConnectTarget t = target(loopback("smtp", port), cert.cert);
  t.require_tls = true;
  const ProbeResult r = probe_connection(t, 10s);
  EXPECT_TRUE(r.ok) << r.error;
}

TEST_F(ProbeFixture, SmtpStartTlsWithoutTheCaFails) {
  auto server = smtp(true);
  const int port = server->port();
  ConnectTarget t = target(loopback("smtp", port));
  t.require_tls = true;
  const ProbeResult r = probe_connection(t, 10s);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(ProbeFixture, RequiredTlsThatTheServerDoesNotOfferFails) {
  auto server = smtp(false);
  const int port = server->port();
  ConnectTarget t = target(loopback("smtp", port), cert.cert);
  t.require_tls = true;
  const ProbeResult r = probe_connection(t, 10s);
  EXPECT_FALSE(r.ok) << "a plain-text server must not pass a check that requires STARTTLS";
}

TEST_F(ProbeFixture, OnlyMailAndWebSchemesAreDialled) {
  SilentSocket silent(/*listening=*/true);
  for (const char* scheme : {"ftp", "file", "telnet", "gopher"}) {
    const ProbeResult r = probe_connection(target(loopback(scheme, silent.port())), 2s);
    EXPECT_FALSE(r.ok) << scheme;
    EXPECT_FALSE(r.error.empty()) << scheme;
  }
  EXPECT_FALSE(probe_connection(target("not a url"), 2s).ok);
}

}  // namespace
}  // namespace dispatcher::channels
