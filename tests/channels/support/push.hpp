// Test support for the push providers' tests (FCM, APNs): an envelope and a fixture with the
// loopback stand-ins' settings and a clock the test moves.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <string>

#include "channels/curl/multi.hpp"
#include "channels/push/apns.hpp"
#include "channels/push/fcm.hpp"
#include "channels/push/jwt.hpp"
#include "channels/support/standin.hpp"

namespace dispatcher::channels::push::testing {

inline Envelope push(std::string token, std::string platform) {
  Envelope e;
  e.message_id = "push-" + token;
  e.channel = Channel::push;
  e.to = std::move(token);
  e.push_platform = std::move(platform);
  e.push_title = "さくら歯科";
  e.push_body = "明日10:00のご予約をお待ちしております";
  e.push_data = {{"kind", "reminder"}, {"rid", "r_123"}, {"n", 3}};
  e.campaign = "remind-24h";
  return e;
}

struct PushFixture : ::testing::Test {
  channels::testing::TempDir dir;
  channels::testing::TestCert cert = channels::testing::make_cert(dir);
  boost::asio::io_context io;
  curl::Multi multi{io};
  channels::testing::FakeClock clock;

  FcmSettings fcm(const channels::testing::HttpStandin& s, const std::string& key_pem) {
    FcmSettings f;
    f.base_url = s.base();
    f.project_id = "demo-project";
    f.client_email = "dispatcher@demo-project.iam.gserviceaccount.com";
    f.private_key = load_private_key(key_pem);
    f.private_key_id = "kid-1";
    f.token_uri = s.base() + "/token";
    f.ca_file = cert.cert;
    return f;
  }
  ApnsSettings apns(const channels::testing::HttpStandin& s, const std::string& key_pem) {
    ApnsSettings a;
    a.base_url = s.base();
    a.key = load_private_key(key_pem);
    a.key_id = "ABC123DEFG";
    a.team_id = "DEF123GHIJ";
    a.topic = "jp.example.sakura";
    a.ca_file = cert.cert;
    return a;
  }
};

}  // namespace dispatcher::channels::push::testing
