// LINE Messaging API push (reference/providers.md §8): POST {base_url}/v2/bot/message/push with
// the channel access token as a bearer token, one text message to one LINE user id, and an
// X-Line-Retry-Key derived from the message so that a retry after a time-out or a 5xx is
// executed at most once by LINE (a repeat of an accepted key answers 409).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "channels/curl/multi.hpp"
#include "channels/provider.hpp"
#include "config/clock.hpp"

namespace dispatcher::channels::line {

// LINE's limit for push (and most endpoints): 2,000 requests a second per channel. The registry
// puts a `line` entry without its own `rate` behind a limiter of this rate.
inline constexpr double requests_per_second = 2000;

struct LineSettings {
  std::string base_url = "https://api.line.me";
  std::string channel_access_token;  // secret (from env or file)
  std::string ca_file;
  // Shorter than the queue's visibility timeout, like every provider's: a slow send must not
  // turn into a redelivery while it is still in flight.
  std::chrono::milliseconds timeout{10'000};
};

// The X-Line-Retry-Key of one message: a UUID (version 8, RFC 9562 variant, lower-case
// 8-4-4-4-12) from SHA-256 over "line-retry-key\0" sender "\0" message id. The same on every
// attempt of a message; another sender's message with the same id gets another key.
std::string line_retry_key(std::string_view sender, std::string_view message_id);

// The first instant of the calendar month after the one `now` falls in, in Japan time (UTC+9,
// no daylight saving): when LINE's monthly message quota starts again.
std::chrono::system_clock::time_point next_month_start_jst(
    std::chrono::system_clock::time_point now);

// Whether a user, group or room id has LINE's form: 'U', 'C' or 'R' and 32 lower-case hex digits.
bool line_recipient_form(std::string_view to) noexcept;

// The push request body: {"to": …, "messages": [{"type": "text", "text": …}]}.
std::string line_push_body(std::string_view to, std::string_view text);

// 200 → accepted (x-line-request-id); 409 → accepted (the retry key was accepted before:
// x-line-accepted-request-id); 429 "monthly limit" → transient with exhausted_until = the next
// month's start in Japan; other 429 and 5xx → transient with Retry-After; other 4xx →
// permanent; no answer → transient. Error sentences never hold the recipient or the text.
Outcome classify_line(const curl::Response& r, std::chrono::system_clock::time_point now);

class LineProvider final : public Provider {
 public:
  LineProvider(std::string name, LineSettings settings, curl::Multi& multi, NowFn now = system_now);

  // `check --connect` dials the API and reads the month's quota and what is used of it.
  std::vector<ConnectTarget> connect_targets() const override {
    return {{name(),
             settings_.base_url,
             settings_.ca_file,
             {},
             {},
             false,
             settings_.channel_access_token,
             {"/v2/bot/message/quota", "/v2/bot/message/quota/consumption"}}};
  }

 protected:
  void do_send(const Envelope& e, Completion done) override;

 private:
  LineSettings settings_;
  curl::Multi& multi_;
  NowFn now_;
  std::string url_;
};

}  // namespace dispatcher::channels::line
