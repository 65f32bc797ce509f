#include "channels/sms/http_sms.hpp"

#include <nlohmann/json.hpp>

#include "channels/http_outcome.hpp"
#include "channels/http_util.hpp"
#include "codec/mask.hpp"
#include "codec/phone.hpp"

namespace dispatcher::channels::sms {

namespace {
std::string scalar(const nlohmann::json& body, const std::string& field) {
  if (!body.is_object() || !body.contains(field)) return {};
  const auto& v = body[field];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  return {};
}
}  // namespace

Outcome classify_http_sms(const curl::Response& r, const HttpSmsSettings& s,
                          std::chrono::system_clock::time_point now) {
  if (r.status == 0) return transport_failure(r);
  const auto body = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status >= 200 && r.status < 300) {
    Outcome o;
    o.kind = OutcomeKind::accepted;
    o.provider_message_id = scalar(body, s.id_field);
    return o;
  }
  const std::string code = scalar(body, s.error_code_field);
  const std::string what =
      "sms provider error" + (code.empty() ? std::string() : " " + redact(code, 40));
  if (r.status == 429 || r.status >= 500) return transient_http(r, what, now);
  if (r.status == 401 || r.status == 403)
    return transient_http(r, "sms provider rejected our credentials", now);
  return permanent(what + " (HTTP " + std::to_string(r.status) + ")",
                   !code.empty() && s.suppress_codes.count(code) > 0);
}

HttpSmsProvider::HttpSmsProvider(std::string name, HttpSmsSettings settings, curl::Multi& multi)
    : Provider(std::move(name)), settings_(std::move(settings)), multi_(multi) {}

void HttpSmsProvider::do_send(const Envelope& e, Completion done) {
  if (!e164_form(e.to))
    return complete_later(multi_.io(), std::move(done),
                          permanent("recipient is not an E.164 number"));
  nlohmann::json body = nlohmann::json::object();
  body[settings_.to_field] = e.to;
  body[settings_.text_field] = e.sms_text.empty() ? e.text : e.sms_text;
  if (!settings_.from.empty()) body[settings_.from_field] = settings_.from;
  curl::Request r;
  r.url = settings_.url;
  r.body = body.dump();
  r.headers = {"Content-Type: application/json", "Accept: application/json"};
  if (!settings_.auth_value.empty())
    r.headers.push_back(settings_.auth_header + ": " + settings_.auth_value);
  r.ca_file = settings_.ca_file;
  r.timeout = settings_.timeout;
  r.max_response_bytes = 64 * 1024;
  multi_.perform(std::move(r), [this, alive = alive_token(),
                                done = std::move(done)](curl::Response resp) mutable {
    if (alive.expired()) return;
    done(classify_http_sms(resp, settings_, std::chrono::system_clock::now()));
  });
}

}  // namespace dispatcher::channels::sms
