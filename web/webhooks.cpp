#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "channels/sms/twilio.hpp"
#include "store/audit.hpp"
#include "store/subject_requests.hpp"
#include "store/subject_store.hpp"
#include "web/app.hpp"
#include "web/app_call.hpp"
#include "web/text.hpp"

// Provider webhooks: inbound SMS keywords, e-mail bounces and complaints, delivery status.

namespace dispatcher::web {

using json = nlohmann::json;
using redis::cmd;
using redis::Command;
using redis::Reply;

bool App::twilio_verified(const Call& c,
                          const std::vector<std::pair<std::string, std::string>>& form) const {
  // Without an auth token there is nothing to check a signature with: only loopback (a
  // local relay, or the tests) may call.
  if (options_.twilio_auth_token.empty()) return is_loopback(c.remote);
  std::string base = options_.public_url;
  if (base.empty()) base = "http://" + std::string(c.req[http::field::host]);
  const std::string expected =
      twilio_signature(options_.twilio_auth_token, base + std::string(c.req.target()), form);
  return constant_time_equal(expected, sv(c.req["X-Twilio-Signature"]));
}

void App::sms_inbound(CallPtr c) {
  auto form = parse_form(c->req.body());
  if (!form) return c->error(http::status::bad_request, "malformed form");
  if (!twilio_verified(*c, *form))
    return c->error(http::status::forbidden, "bad or missing Twilio signature");
  std::string from, body;
  for (const auto& [k, v] : *form) {
    if (k == "From")
      from = v;
    else if (k == "Body")
      body = v;
  }
  if (!valid_e164(from)) return c->error(http::status::bad_request, "From must be an E.164 number");
  const SmsKeyword kw = classify_keyword(body);
  auto twiml = [this, c](const char* result) {
    metrics_.inc("dispatcher_webhooks_total", {{"kind", "sms_inbound"}, {"result", result}});
    c->send(http::status::ok, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>",
            "text/xml; charset=utf-8");
  };
  if (kw == SmsKeyword::none) return twiml("ignored");
  const bool out = kw == SmsKeyword::stop;
  auto cmds = optout_commands(rt_.keys, resolve_subject(from, rt_.secret), "channel:sms", out,
                              "sms-keyword", now_());
  redis_exec(std::move(cmds), [c, twiml, out](const std::string& err, std::vector<Reply>) {
    if (!err.empty())
      return c->error(http::status::service_unavailable, "unavailable, please retry");
    twiml(out ? "optout" : "optin");
  });
}

void App::email_bounce(CallPtr c) {
  auto key = keys_.authenticate(sv(c->req[http::field::authorization]));
  if (!key || !key->is_operator())
    return c->error(http::status::unauthorized, "operator API key required");
  if (json_too_deep(c->req.body(), options_.json_depth_limit))
    return c->error(http::status::bad_request, "too deep");
  auto j = json::parse(c->req.body(), nullptr, false);
  if (!j.is_object() || !j.contains("address") || !j["address"].is_string() ||
      !j.contains("type") || !j["type"].is_string())
    return c->error(http::status::bad_request, "expected {\"address\", \"type\"}");
  const std::string address = j["address"], type = j["type"];
  if (!valid_email(address)) return c->error(http::status::bad_request, "not an e-mail address");
  if (type != "hard" && type != "soft" && type != "complaint")
    return c->error(http::status::bad_request, "type must be hard, soft or complaint");
  auto ok = [this, c, type] {
    metrics_.inc("dispatcher_webhooks_total", {{"kind", "email_bounce"}, {"result", type}});
    c->json_reply(http::status::ok, {{"status", "recorded"}});
  };
  if (type == "soft") return ok();
  const TimePoint now = now_();
  std::vector<Command> cmds;
  if (type == "hard") {
    cmds = suppress_commands(rt_.keys, address_hash(address, rt_.secret), "email", "webhook",
                             "hard bounce", now);
  } else {
    cmds = optout_commands(rt_.keys, resolve_subject(address, rt_.secret), "channel:email", true,
                           "email-complaint", now);
  }
  redis_exec(std::move(cmds), [c, ok](const std::string& err, std::vector<Reply>) {
    if (!err.empty())
      return c->error(http::status::service_unavailable, "unavailable, please retry");
    ok();
  });
}

void App::delivery_status(CallPtr c) {
  // Two shapes: Twilio's StatusCallback (a signed form) and, for any other provider or relay,
  // JSON {"provider_message_id", "status", "error_code"?, "address_dead"?} with the operator key.
  std::string pmid, status, error_code;
  bool dead = false;
  const std::string_view type = sv(c->req[http::field::content_type]);
  if (type.rfind("application/x-www-form-urlencoded", 0) == 0) {
    auto form = parse_form(c->req.body());
    if (!form) return c->error(http::status::bad_request, "malformed form");
    if (!twilio_verified(*c, *form))
      return c->error(http::status::forbidden, "bad or missing Twilio signature");
    for (const auto& [k, v] : *form) {
      if (k == "MessageSid")
        pmid = v;
      else if (k == "MessageStatus")
        status = v;
      else if (k == "ErrorCode")
        error_code = v;
    }
    if ((status == "undelivered" || status == "failed") && !error_code.empty()) {
      char* end = nullptr;
      const long code = std::strtol(error_code.c_str(), &end, 10);
      dead = end && *end == '\0' && channels::sms::twilio_error_means_dead_number(code);
    }
  } else {
    auto key = keys_.authenticate(sv(c->req[http::field::authorization]));
    if (!key || !key->is_operator())
      return c->error(http::status::unauthorized, "operator API key required");
    if (json_too_deep(c->req.body(), options_.json_depth_limit))
      return c->error(http::status::bad_request, "too deep");
    auto j = json::parse(c->req.body(), nullptr, false);
    if (!j.is_object() || !j.contains("provider_message_id") ||
        !j["provider_message_id"].is_string() || !j.contains("status") || !j["status"].is_string())
      return c->error(http::status::bad_request, "expected {\"provider_message_id\", \"status\"}");
    pmid = j["provider_message_id"];
    status = j["status"];
    if (j.contains("error_code")) {
      if (!j["error_code"].is_string() && !j["error_code"].is_number_integer())
        return c->error(http::status::bad_request, "error_code must be a string or an integer");
      error_code =
          j["error_code"].is_string() ? j["error_code"].get<std::string>() : j["error_code"].dump();
    }
    if (j.contains("address_dead")) {
      if (!j["address_dead"].is_boolean())
        return c->error(http::status::bad_request, "address_dead must be true or false");
      dead = j["address_dead"];
    }
  }
  auto token_like = [](std::string_view v, std::size_t max, bool lower) {
    return !v.empty() && v.size() <= max && std::all_of(v.begin(), v.end(), [lower](char ch) {
      return lower ? ((ch >= 'a' && ch <= 'z') || ch == '_') : (ch > 0x20 && ch < 0x7f);
    });
  };
  if (!token_like(pmid, 256, false))
    return c->error(http::status::bad_request, "missing or malformed message id");
  if (!token_like(status, 32, true))
    return c->error(http::status::bad_request, "missing or malformed status");
  if (!error_code.empty() && !token_like(error_code, 32, false))
    return c->error(http::status::bad_request, "malformed error code");
  redis_exec(
      {cmd("GET", rt_.keys.provider_message(pmid))},
      [this, c, pmid, status, error_code, dead](const std::string& err, std::vector<Reply> r) {
        if (!err.empty() || r.size() != 1)
          return c->error(http::status::service_unavailable, "unavailable, please retry");
        auto about = r[0].is_nil() ? json() : json::parse(r[0].str, nullptr, false);
        if (!about.is_object() || !about.contains("subject")) {
          // Not one of ours, or older than our records: the provider must not retry it.
          metrics_.inc("dispatcher_webhooks_total",
                       {{"kind", "status"}, {"result", "unknown_message"}});
          return c->json_reply(http::status::ok, {{"status", "unknown_message"}});
        }
        const TimePoint now = now_();
        AuditRecord rec;
        rec.time = now;
        rec.event = "delivery_status";
        rec.subject = about.value("subject", "");
        rec.message_id = about.value("id", "");
        rec.channel = about.value("channel", "");
        rec.provider = about.value("provider", "");
        rec.provider_message_id = pmid;
        rec.extra = {{"status", status}};
        if (!error_code.empty()) rec.extra["error_code"] = error_code;
        std::vector<Command> cmds;
        const std::string address = about.value("address", "");
        if (dead && !address.empty()) {
          rec.reason = "address_suppressed:" + rec.channel;
          cmds = suppress_commands(
              rt_.keys, address, rec.channel, rec.provider,
              "delivery status " + status + (error_code.empty() ? "" : " " + error_code), now);
        }
        cmds.push_back(audit_command(rt_.keys, rec));
        redis_exec(std::move(cmds), [this, c, status](const std::string& err, std::vector<Reply>) {
          if (!err.empty())
            return c->error(http::status::service_unavailable, "unavailable, please retry");
          metrics_.inc("dispatcher_webhooks_total", {{"kind", "status"}, {"result", "recorded"}});
          c->json_reply(http::status::ok, {{"status", "recorded"}});
        });
      });
}

}  // namespace dispatcher::web
