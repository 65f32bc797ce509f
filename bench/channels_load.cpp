// Messages per second through each channel's provider to loopback stand-ins, with N in flight.
//   channels_load [--messages 2000] [--in-flight 200]
// The stand-ins are the Python scripts the tests use (tests/channels/standins/), so the numbers
// are bounded by them: this measures that the engine keeps many sends in flight on one thread,
// not a provider's real capacity.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "channels/email/smtp.hpp"
#include "channels/push/apns.hpp"
#include "channels/push/fcm.hpp"
#include "channels/sms/twilio.hpp"
#include "tests/channels/support/standin.hpp"

using namespace dispatcher;
using namespace dispatcher::channels;
using namespace dispatcher::channels::testing;

namespace {

struct Result {
  int accepted = 0, failed = 0;
  double seconds = 0;
};

Result drive(boost::asio::io_context& io, Provider& p, int total, int in_flight,
             const std::function<Envelope(int)>& make) {
  Result r;
  int started = 0, finished = 0;
  std::function<void()> next = [&] {
    const int i = started++;
    p.send(make(i), [&](Outcome o) {
      ++finished;
      (o.kind == OutcomeKind::accepted ? r.accepted : r.failed)++;
      if (started < total) next();
    });
  };
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < std::min(in_flight, total); ++i) next();
  run_until(
      io, [&] { return finished == total; }, std::chrono::minutes(5));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

void print(const char* what, const Result& r) {
  std::printf("%-28s %6d accepted %4d failed  %7.2f s  %8.0f msg/s\n", what, r.accepted, r.failed,
              r.seconds, r.accepted / std::max(r.seconds, 1e-9));
}

}  // namespace

int main(int argc, char** argv) {
  int total = 2000, in_flight = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--messages")) total = std::stoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--in-flight")) in_flight = std::stoi(argv[i + 1]);
  }
  spdlog::set_level(spdlog::level::err);
  TempDir dir;
  const TestCert cert = make_cert(dir);
  boost::asio::io_context io;
  curl::Multi multi(io);
  std::printf("%d messages, %d in flight, one event-loop thread\n", total, in_flight);

  {
    HttpStandin server(dir, "twilio", &cert);
    sms::TwilioSettings s;
    s.base_url = server.base();
    s.account_sid = "AC1";
    s.auth_token = "t";
    s.from = "+815012345678";
    s.ca_file = cert.cert;
    sms::TwilioProvider p("twilio", s, multi);
    print("sms/twilio (HTTPS 1.1)", drive(io, p, total, in_flight, [](int i) {
            Envelope e;
            e.to = "+8190" + std::to_string(10000000 + i);
            e.sms_text = "明日10:00のご予約です";
            return e;
          }));
  }
  {
    const std::string key = make_key(dir, "apns.p8", false);
    HttpStandin server(dir, "apns", &cert);
    push::ApnsSettings s;
    s.base_url = server.base();
    s.key = push::load_private_key(read_file(key));
    s.key_id = "K";
    s.team_id = "T";
    s.topic = "jp.example.sakura";
    s.ca_file = cert.cert;
    push::ApnsProvider p("apns", s, multi);
    print("push/apns (HTTP/2)", drive(io, p, total, in_flight, [](int i) {
            Envelope e;
            e.to = std::string(64, 'a');
            e.push_title = "さくら歯科";
            e.push_body = "明日です";
            return e;
          }));
  }
  {
    const std::string key = make_key(dir, "sa.pem", true);
    HttpStandin server(dir, "fcm", &cert);
    push::FcmSettings s;
    s.base_url = server.base();
    s.project_id = "p";
    s.client_email = "x@p.iam.gserviceaccount.com";
    s.private_key = push::load_private_key(read_file(key));
    s.token_uri = server.base() + "/token";
    s.ca_file = cert.cert;
    push::FcmProvider p("fcm", s, multi);
    print("push/fcm (HTTPS 1.1)", drive(io, p, total, in_flight, [](int i) {
            Envelope e;
            e.to = "tok-" + std::to_string(i);
            e.push_title = "さくら歯科";
            e.push_body = "明日です";
            return e;
          }));
  }
  {
    Process smtp({python(), standin("smtp_standin.py"), "--out", dir / "mail"});
    email::SmtpSettings s;
    s.url = "smtp://127.0.0.1:" + std::to_string(smtp.port());
    s.require_tls = false;
    s.from_address = "no-reply@clinic.example.jp";
    s.pool = 8;
    email::SmtpProvider p("smtp", s, multi);
    const int n = std::min(total, 500);
    print("email/smtp (pool 8)", drive(io, p, n, in_flight, [](int i) {
            Envelope e;
            e.to = "user" + std::to_string(i) + "@example.jp";
            e.subject = "ご予約のお知らせ";
            e.text = "明日10:00のご予約です";
            e.html = "<p>明日10:00のご予約です</p>";
            return e;
          }));
  }
  return 0;
}
