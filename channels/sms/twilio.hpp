// SMS through Twilio's Programmable Messaging API (or anything speaking it):
// POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded, HTTP basic auth.
#pragma once

#include <chrono>
#include <string>

#include "channels/curl/multi.hpp"
#include "channels/provider.hpp"

namespace dispatcher::channels::sms {

struct TwilioSettings {
  std::string base_url = "https://api.twilio.com";
  std::string account_sid;
  std::string auth_token;             // secret (from env or file)
  std::string from;                   // E.164 number / sender id, or …
  std::string messaging_service_sid;  // … a Messaging Service (MG…), then From is left out
  std::string status_callback;        // optional https URL
  std::string ca_file;
  std::chrono::milliseconds timeout{10'000};
};

// 201 → accepted (sid); 429/5xx → transient with Retry-After; 21610 (unsubscribed), 21211
// (invalid To), 21614 (not a mobile), 21635 (landline) → permanent + suppress; other 4xx →
// permanent; 401/403 (our credentials) → transient, so that failover and the circuit breaker take
// over.
Outcome classify_twilio(const curl::Response& r, std::chrono::system_clock::time_point now);

// Whether a Twilio error code (in an API answer or a status callback's ErrorCode) says the
// number cannot receive our SMS: 21610 unsubscribed (STOP at the carrier), 21211 invalid, 21614
// not a mobile, 21635 landline, 30005 unknown handset, 30006 landline or unreachable carrier.
bool twilio_error_means_dead_number(long code) noexcept;

class TwilioProvider final : public Provider {
 public:
  TwilioProvider(std::string name, TwilioSettings settings, curl::Multi& multi);

  std::vector<ConnectTarget> connect_targets() const override {
    return {{name(), settings_.base_url, settings_.ca_file, {}, {}, false}};
  }

 protected:
  void do_send(const Envelope& e, Completion done) override;

 private:
  TwilioSettings settings_;
  curl::Multi& multi_;
  std::string url_;
};

}  // namespace dispatcher::channels::sms
