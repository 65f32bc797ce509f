// Push through Firebase Cloud Messaging HTTP v1, authorised with a service account: an RS256
// JWT assertion is exchanged at the key's token_uri for an OAuth2 access token, which is cached
// and fetched again `refresh_before` its expiry (one fetch at a time; sends wait for it).
#pragma once

#include <chrono>
#include <deque>
#include <string>

#include "channels/curl/multi.hpp"
#include "channels/provider.hpp"
#include "channels/push/jwt.hpp"
#include "config/clock.hpp"

namespace dispatcher::channels::push {

struct FcmSettings {
  std::string base_url = "https://fcm.googleapis.com";
  std::string project_id;
  std::string client_email;
  PrivateKey private_key;  // RSA, from the service-account key file
  std::string private_key_id;
  std::string token_uri = "https://oauth2.googleapis.com/token";
  std::string scope = "https://www.googleapis.com/auth/firebase.messaging";
  std::string ca_file;
  std::chrono::milliseconds timeout{10'000};
  std::chrono::seconds refresh_before{300};
  std::size_t max_waiting = 10'000;  // sends waiting for a token
};

// The Outcome of a messages:send answer: UNREGISTERED, SENDER_ID_MISMATCH, and INVALID_ARGUMENT
// naming message.token → permanent + suppress; other INVALID_ARGUMENT → permanent;
// QUOTA_EXCEEDED/UNAVAILABLE/INTERNAL/429/5xx → transient (Retry-After); THIRD_PARTY_AUTH_ERROR
// and 401/403 → transient (our configuration, never the token's fault).
Outcome classify_fcm(const curl::Response& r, std::chrono::system_clock::time_point now);

class FcmProvider final : public Provider {
 public:
  FcmProvider(std::string name, FcmSettings settings, curl::Multi& multi, NowFn now = {});
  std::size_t token_fetches() const noexcept { return fetches_; }

  std::vector<ConnectTarget> connect_targets() const override {  // the token endpoint, then FCM
    return {{name(), settings_.token_uri, settings_.ca_file, {}, {}, false},
            {name(), settings_.base_url, settings_.ca_file, {}, {}, false}};
  }

 protected:
  void do_send(const Envelope& e, Completion done) override;

 private:
  struct Pending {
    std::string body;
    Completion done;
    bool retried = false;
  };
  bool token_fresh() const;
  void fetch_token();
  void on_token(curl::Response r);
  void post(Pending p);

  FcmSettings settings_;
  curl::Multi& multi_;
  NowFn now_;
  std::string url_;
  std::string access_token_;
  TimePoint expires_at_{};
  bool fetching_ = false;
  std::size_t fetches_ = 0;
  std::deque<Pending> waiting_;
};

}  // namespace dispatcher::channels::push
