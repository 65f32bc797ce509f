#include "channels/sms/twilio.hpp"

#include <nlohmann/json.hpp>

#include "channels/http_outcome.hpp"
#include "channels/http_util.hpp"
#include "codec/mask.hpp"
#include "codec/percent.hpp"
#include "codec/phone.hpp"

namespace dispatcher::channels::sms {

Outcome classify_twilio(const curl::Response& r, std::chrono::system_clock::time_point now) {
  if (r.status == 0) return transport_failure(r);
  const auto body = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status == 200 || r.status == 201) {
    Outcome o;
    o.kind = OutcomeKind::accepted;
    if (body.is_object() && body.contains("sid") && body["sid"].is_string())
      o.provider_message_id = body["sid"];
    if (r.kind != ErrorKind::none || o.provider_message_id.empty())
      return transient_http(r, "twilio answered without a message sid", now);
    return o;
  }
  long code = 0;
  std::string message;
  if (body.is_object()) {
    if (body.contains("code") && body["code"].is_number_integer()) code = body["code"].get<long>();
    if (body.contains("message") && body["message"].is_string()) message = body["message"];
  }
  const std::string what =
      "twilio error " + std::to_string(code) + (message.empty() ? "" : ": " + redact(message, 160));
  if (r.status == 429 || r.status >= 500) return transient_http(r, what, now);
  if (r.status == 401 || r.status == 403)
    return transient_http(r, "twilio rejected our credentials: " + what, now);
  return permanent(what, twilio_error_means_dead_number(code));
}

bool twilio_error_means_dead_number(long code) noexcept {
  switch (code) {
    case 21610:  // unsubscribed recipient (STOP)
    case 21211:  // invalid To
    case 21614:  // not a mobile number
    case 21635:  // landline
    case 30005:  // unknown destination handset (callbacks only)
    case 30006:  // landline or unreachable carrier (callbacks only)
      return true;
    default:
      return false;
  }
}

TwilioProvider::TwilioProvider(std::string name, TwilioSettings settings, curl::Multi& multi)
    : Provider(std::move(name)), settings_(std::move(settings)), multi_(multi) {
  settings_.base_url = without_trailing_slashes(std::move(settings_.base_url));
  url_ = settings_.base_url + "/2010-04-01/Accounts/" + percent_encode(settings_.account_sid) +
         "/Messages.json";
}

void TwilioProvider::do_send(const Envelope& e, Completion done) {
  if (!e164_form(e.to))
    return complete_later(multi_.io(), std::move(done),
                          permanent("recipient is not an E.164 number"));
  std::vector<std::pair<std::string, std::string>> form{{"To", e.to}};
  if (!settings_.messaging_service_sid.empty())
    form.emplace_back("MessagingServiceSid", settings_.messaging_service_sid);
  else
    form.emplace_back("From", settings_.from);
  form.emplace_back("Body", e.sms_text.empty() ? e.text : e.sms_text);
  if (!settings_.status_callback.empty())
    form.emplace_back("StatusCallback", settings_.status_callback);
  curl::Request r;
  r.url = url_;
  r.body = form_encode(form);
  r.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
  r.username = settings_.account_sid;
  r.password = settings_.auth_token;
  r.ca_file = settings_.ca_file;
  r.timeout = settings_.timeout;
  r.max_response_bytes = 64 * 1024;
  const bool callback = !settings_.status_callback.empty();
  multi_.perform(std::move(r), [alive = alive_token(), callback,
                                done = std::move(done)](curl::Response resp) mutable {
    if (alive.expired()) return;
    Outcome o = classify_twilio(resp, std::chrono::system_clock::now());
    o.status_expected = callback && o.kind == OutcomeKind::accepted;
    done(std::move(o));
  });
}

}  // namespace dispatcher::channels::sms
