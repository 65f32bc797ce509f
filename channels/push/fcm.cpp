#include "channels/push/fcm.hpp"

#include <nlohmann/json.hpp>

#include "channels/http_outcome.hpp"
#include "channels/http_util.hpp"
#include "codec/percent.hpp"

namespace dispatcher::channels::push {

namespace {

std::string fcm_error_code(const nlohmann::json& body, bool& token_field) {
  std::string code;
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return code;
  const auto& err = body["error"];
  if (err.contains("details") && err["details"].is_array()) {
    for (const auto& d : err["details"]) {
      if (!d.is_object()) continue;
      const std::string type = d.value("@type", "");
      if (type.find("FcmError") != std::string::npos) code = d.value("errorCode", "");
      if (type.find("BadRequest") != std::string::npos && d.contains("fieldViolations") &&
          d["fieldViolations"].is_array())
        for (const auto& v : d["fieldViolations"])
          if (v.is_object() && v.value("field", "") == "message.token") token_field = true;
    }
  }
  if (code.empty()) code = err.value("status", "");
  return code;
}

}  // namespace

Outcome classify_fcm(const curl::Response& r, std::chrono::system_clock::time_point now) {
  if (r.status == 0) return transport_failure(r);
  const auto body = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status == 200) {
    Outcome o;
    o.kind = OutcomeKind::accepted;
    if (body.is_object() && body.contains("name") && body["name"].is_string())
      o.provider_message_id = body["name"];
    return o;
  }
  bool token_field = false;
  const std::string code = fcm_error_code(body, token_field);
  const std::string what = "fcm " + (code.empty() ? std::string("error") : code);
  if (code == "UNREGISTERED" || code == "SENDER_ID_MISMATCH") return permanent(what, true);
  if (code == "INVALID_ARGUMENT") return permanent(what, token_field || r.status == 404);
  if (code == "THIRD_PARTY_AUTH_ERROR" || r.status == 401 || r.status == 403)
    return transient_http(r, what + ": our credentials or the project's APNs/web-push keys", now);
  if (r.status == 429 || r.status >= 500 || code == "QUOTA_EXCEEDED" || code == "UNAVAILABLE" ||
      code == "INTERNAL")
    return transient_http(r, what, now);
  if (r.status == 404) return permanent(what, true);
  return permanent(what + " (HTTP " + std::to_string(r.status) + ")");
}

FcmProvider::FcmProvider(std::string name, FcmSettings settings, curl::Multi& multi, NowFn now)
    : Provider(std::move(name)),
      settings_(std::move(settings)),
      multi_(multi),
      now_(now ? std::move(now) : NowFn(system_now)) {
  settings_.base_url = without_trailing_slashes(std::move(settings_.base_url));
  url_ = settings_.base_url + "/v1/projects/" + percent_encode(settings_.project_id) +
         "/messages:send";
}

bool FcmProvider::token_fresh() const {
  return !access_token_.empty() && now_() + settings_.refresh_before < expires_at_;
}

void FcmProvider::do_send(const Envelope& e, Completion done) {
  if (e.to.empty() || e.to.size() > 4096)
    return complete_later(multi_.io(), std::move(done),
                          permanent("fcm: bad registration token", true));
  nlohmann::json msg;
  msg["token"] = e.to;
  msg["notification"] = {{"title", e.push_title}, {"body", e.push_body}};
  if (e.push_data.is_object() && !e.push_data.empty()) {
    nlohmann::json data = nlohmann::json::object();
    for (const auto& [k, v] : e.push_data.items())
      data[k] = v.is_string() ? v.get<std::string>() : v.dump();
    msg["data"] = std::move(data);
  }
  Pending p{nlohmann::json{{"message", std::move(msg)}}.dump(), std::move(done)};
  if (p.body.size() > 4096 + 512)
    return complete_later(multi_.io(), std::move(p.done),
                          permanent("fcm: payload larger than 4 KB"));
  if (token_fresh()) return post(std::move(p));
  if (waiting_.size() >= settings_.max_waiting)
    return complete_later(multi_.io(), std::move(p.done),
                          transient_http({}, "fcm: too many sends waiting for a token",
                                         std::chrono::system_clock::now()));
  waiting_.push_back(std::move(p));
  fetch_token();
}

void FcmProvider::fetch_token() {
  if (fetching_) return;
  fetching_ = true;
  ++fetches_;
  const auto iat =
      std::chrono::duration_cast<std::chrono::seconds>(now_().time_since_epoch()).count();
  nlohmann::json header{{"alg", "RS256"}, {"typ", "JWT"}};
  if (!settings_.private_key_id.empty()) header["kid"] = settings_.private_key_id;
  const nlohmann::json claims{{"iss", settings_.client_email},
                              {"scope", settings_.scope},
                              {"aud", settings_.token_uri},
                              {"iat", iat},
                              {"exp", iat + 3600}};
  std::error_code ec;
  const std::string assertion = make_jwt(header, claims, settings_.private_key, JwtAlg::rs256, ec);
  if (ec) {
    // Our key cannot sign: every send waiting for a token fails for good (never retried).
    fetching_ = false;
    std::deque<Pending> failed;
    failed.swap(waiting_);
    for (auto& p : failed)
      complete_later(multi_.io(), std::move(p.done), permanent("fcm: " + ec.message()));
    return;
  }
  curl::Request r;
  r.url = settings_.token_uri;
  r.body = form_encode(
      {{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"}, {"assertion", assertion}});
  r.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
  r.ca_file = settings_.ca_file;
  r.timeout = settings_.timeout;
  r.max_response_bytes = 64 * 1024;
  multi_.perform(std::move(r), [this, alive = alive_token()](curl::Response resp) {
    if (alive.expired()) return;
    on_token(std::move(resp));
  });
}

void FcmProvider::on_token(curl::Response r) {
  fetching_ = false;
  const auto body = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status == 200 && body.is_object() && body.contains("access_token") &&
      body["access_token"].is_string()) {
    access_token_ = body["access_token"];
    const long long expires_in = body.contains("expires_in") && body["expires_in"].is_number()
                                     ? body["expires_in"].get<long long>()
                                     : 3600;
    expires_at_ = now_() + std::chrono::seconds(expires_in);
    std::deque<Pending> ready;
    ready.swap(waiting_);
    for (auto& p : ready) post(std::move(p));
    return;
  }
  Outcome o = r.status == 0 ? transport_failure(r)
                            : transient_http(r, "fcm: access token refused",
                                             std::chrono::system_clock::now());
  std::deque<Pending> failed;
  failed.swap(waiting_);
  for (auto& p : failed) p.done(o);
}

void FcmProvider::post(Pending p) {
  curl::Request r;
  r.url = url_;
  r.body = p.body;
  r.headers = {"Content-Type: application/json; charset=UTF-8",
               "Authorization: Bearer " + access_token_};
  r.ca_file = settings_.ca_file;
  r.timeout = settings_.timeout;
  r.max_response_bytes = 64 * 1024;
  multi_.perform(std::move(r),
                 [this, alive = alive_token(), p = std::move(p)](curl::Response resp) mutable {
                   if (alive.expired()) return;
                   if (resp.status == 401 &&
                       !p.retried) {  // the access token went stale early: fetch a new one, once
                     access_token_.clear();
                     p.retried = true;
                     waiting_.push_back(std::move(p));
                     fetch_token();
                     return;
                   }
                   p.done(classify_fcm(resp, std::chrono::system_clock::now()));
                 });
}

}  // namespace dispatcher::channels::push
