// Test support for the SMS providers' tests (Twilio, the generic JSON provider, and the rate
// limit and failover tests that run over them): an envelope, Twilio's error bodies, and a
// fixture with the loopback stand-ins' settings.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "channels/curl/multi.hpp"
#include "channels/sms/http_sms.hpp"
#include "channels/sms/twilio.hpp"
#include "channels/support/standin.hpp"

namespace dispatcher::channels::sms::testing {

inline Envelope sms(std::string to) {
  Envelope e;
  e.message_id = "sms-" + to;
  e.channel = Channel::sms;
  e.to = std::move(to);
  e.sms_text = "さくら歯科です。明日10:00のご予約をお待ちしております。";
  return e;
}

inline nlohmann::json twilio_error(int code, int status, const char* message) {
  return {{"status", status},
          {"body",
           {{"code", code},
            {"message", message},
            {"more_info", "https://www.twilio.com/docs/errors/" + std::to_string(code)},
            {"status", status}}}};
}

struct SmsFixture : ::testing::Test {
  channels::testing::TempDir dir;
  channels::testing::TestCert cert = channels::testing::make_cert(dir);
  boost::asio::io_context io;
  curl::Multi multi{io};

  TwilioSettings twilio(const channels::testing::HttpStandin& s) {
    TwilioSettings t;
    t.base_url = s.base();
    t.account_sid = "AC0123456789abcdef0123456789abcdef";
    t.auth_token = "secret-token";
    t.from = "+815012345678";
    t.status_callback = "https://notify.example.jp/webhooks/twilio";
    t.ca_file = cert.cert;
    return t;
  }
  HttpSmsSettings generic(const channels::testing::HttpStandin& s) {
    HttpSmsSettings g;
    g.url = s.base() + "/v1/sms";
    g.auth_header = "X-Api-Key";
    g.auth_value = "key-123";
    g.from = "SAKURA";
    g.to_field = "to";
    g.text_field = "message";
    g.suppress_codes = {"unsubscribed", "invalid_number"};
    g.ca_file = cert.cert;
    return g;
  }
  void control(const channels::testing::HttpStandin& s, const nlohmann::json& body) {
    curl::Request r;
    r.url = s.base() + "/_control";
    r.body = body.dump();
    r.ca_file = cert.cert;
    bool done = false;
    multi.perform(r, [&](curl::Response resp) {
      EXPECT_EQ(resp.status, 200);
      done = true;
    });
    ASSERT_TRUE(channels::testing::run_until(io, [&] { return done; }));
  }
};

}  // namespace dispatcher::channels::sms::testing
