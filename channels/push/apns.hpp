// Push through Apple's APNs provider API: HTTP/2 only (streams multiplexed on one reused
// connection), token-based auth with an ES256 provider JWT that is reused for `token_reuse`
// (50 min) and never regenerated more often than every `token_min_interval` (20 min).
#pragma once

#include <chrono>
#include <string>
#include <system_error>

#include "channels/curl/multi.hpp"
#include "channels/provider.hpp"
#include "channels/push/jwt.hpp"
#include "config/clock.hpp"

namespace dispatcher::channels::push {

struct ApnsSettings {
  std::string base_url = "https://api.push.apple.com";
  PrivateKey key;  // the .p8 (EC P-256) key
  std::string key_id, team_id;
  std::string topic;  // the app's bundle id
  int priority = 10;
  std::chrono::seconds expiration{24 * 3600};  // apns-expiration = now + this; 0 → "0" (try once)
  std::string ca_file;
  std::chrono::milliseconds timeout{10'000};
  std::chrono::minutes token_reuse{50};
  std::chrono::minutes token_min_interval{20};
};

// 200 → accepted (apns-id); 410 Unregistered/ExpiredToken, 400 BadDeviceToken and
// DeviceTokenNotForTopic → permanent + suppress; 429/500/503 → transient; 403 (provider token)
// → transient; other 4xx → permanent.
Outcome classify_apns(const curl::Response& r, std::chrono::system_clock::time_point now);

class ApnsProvider final : public Provider {
 public:
  ApnsProvider(std::string name, ApnsSettings settings, curl::Multi& multi, NowFn now = {});
  // The provider token for `now` (made or reused); exposed for tests.
  const std::string& provider_token(std::error_code& ec);

  std::vector<ConnectTarget> connect_targets() const override {
    return {{name(), settings_.base_url, settings_.ca_file, {}, {}, false}};
  }

 protected:
  void do_send(const Envelope& e, Completion done) override;

 private:
  ApnsSettings settings_;
  curl::Multi& multi_;
  NowFn now_;
  std::string jwt_;
  TimePoint issued_{};
  bool force_refresh_ = false;
};

}  // namespace dispatcher::channels::push
