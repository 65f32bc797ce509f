#include "channels/push/apns.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "channels/http_outcome.hpp"

namespace dispatcher::channels::push {

Outcome classify_apns(const curl::Response& r, std::chrono::system_clock::time_point now) {
  if (r.status == 0) return transport_failure(r);
  if (r.status == 200) {
    Outcome o;
    o.kind = OutcomeKind::accepted;
    if (auto id = r.header("apns-id")) o.provider_message_id = std::string(*id);
    return o;
  }
  const auto body = nlohmann::json::parse(r.body, nullptr, false);
  const std::string reason = body.is_object() ? body.value("reason", "") : "";
  const std::string what =
      "apns " + std::to_string(r.status) + (reason.empty() ? "" : " " + reason.substr(0, 64));
  if (r.status == 410 || reason == "BadDeviceToken" || reason == "DeviceTokenNotForTopic" ||
      reason == "Unregistered")
    return permanent(what, true);
  if (r.status == 429 || r.status >= 500 || r.status == 403 || reason == "IdleTimeout")
    return transient_http(r, what, now);
  return permanent(what);
}

ApnsProvider::ApnsProvider(std::string name, ApnsSettings settings, curl::Multi& multi, NowFn now)
    : Provider(std::move(name)),
      settings_(std::move(settings)),
      multi_(multi),
      now_(now ? std::move(now) : NowFn(system_now)) {
  settings_.base_url = without_trailing_slashes(std::move(settings_.base_url));
}

const std::string& ApnsProvider::provider_token(std::error_code& ec) {
  ec.clear();
  const TimePoint now = now_();
  const auto age = now - issued_;
  const bool stale = jwt_.empty() || age >= settings_.token_reuse ||
                     (force_refresh_ && age >= settings_.token_min_interval);
  if (stale) {
    const auto iat =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    std::string token =
        make_jwt({{"alg", "ES256"}, {"kid", settings_.key_id}},
                 {{"iss", settings_.team_id}, {"iat", iat}}, settings_.key, JwtAlg::es256, ec);
    if (ec) return jwt_;  // unchanged; the caller fails the send
    jwt_ = std::move(token);
    issued_ = now;
    force_refresh_ = false;
  }
  return jwt_;
}

void ApnsProvider::do_send(const Envelope& e, Completion done) {
  bool hex = !e.to.empty() && e.to.size() <= 200;
  for (char c : e.to) hex = hex && std::isxdigit(static_cast<unsigned char>(c));
  if (!hex)
    return complete_later(multi_.io(), std::move(done),
                          permanent("apns: device token is not hex", true));
  nlohmann::json payload = nlohmann::json::object();
  if (e.push_data.is_object())
    for (const auto& [k, v] : e.push_data.items())
      if (k != "aps") payload[k] = v;
  payload["aps"] = {{"alert", {{"title", e.push_title}, {"body", e.push_body}}}};
  curl::Request r;
  r.url = settings_.base_url + "/3/device/" + e.to;
  r.body = payload.dump();
  if (r.body.size() > 4096)
    return complete_later(multi_.io(), std::move(done),
                          permanent("apns: payload larger than 4096 bytes"));
  const auto now = now_();
  const long long expiration = settings_.expiration.count() == 0
                                   ? 0
                                   : std::chrono::duration_cast<std::chrono::seconds>(
                                         (now + settings_.expiration).time_since_epoch())
                                         .count();
  std::error_code ec;
  const std::string& token = provider_token(ec);
  if (ec) return complete_later(multi_.io(), std::move(done), permanent("apns: " + ec.message()));
  r.headers = {"authorization: bearer " + token,
               "apns-topic: " + settings_.topic,
               "apns-push-type: alert",
               "apns-priority: " + std::to_string(settings_.priority),
               "apns-expiration: " + std::to_string(expiration),
               "content-type: application/json"};
  if (!e.campaign.empty() && e.campaign.size() <= 64)
    r.headers.push_back("apns-collapse-id: " + e.campaign);
  r.http2 = true;
  r.ca_file = settings_.ca_file;
  r.timeout = settings_.timeout;
  r.max_response_bytes = 16 * 1024;
  multi_.perform(std::move(r), [this, alive = alive_token(),
                                done = std::move(done)](curl::Response resp) mutable {
    if (alive.expired()) return;
    if (resp.status != 0 && resp.http_version != CURL_HTTP_VERSION_2_0) {
      Outcome o = transport_failure(resp);
      o.error = "apns: the server did not speak HTTP/2";
      done(std::move(o));
      return;
    }
    Outcome o = classify_apns(resp, std::chrono::system_clock::now());
    if (o.error.find("ExpiredProviderToken") != std::string::npos) force_refresh_ = true;
    done(std::move(o));
  });
}

}  // namespace dispatcher::channels::push
