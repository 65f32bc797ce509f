#include "web/webhooks.hpp"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "channels/sms/twilio.hpp"
#include "codec/base64.hpp"
#include "codec/hmac.hpp"
#include "model/message.hpp"
#include "store/audit.hpp"
#include "store/subject_requests.hpp"
#include "store/subject_store.hpp"
#include "web/exchange.hpp"
#include "web/services.hpp"
#include "web/text.hpp"

namespace dispatcher::web {

using json = nlohmann::json;
using redis::cmd;
using redis::Command;
using redis::Reply;
namespace http = boost::beast::http;

// ---- inbound SMS ----

std::string normalise_keyword(std::string_view body) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
  icu::UnicodeString s = icu::UnicodeString::fromUTF8(
      icu::StringPiece(body.data(), static_cast<int32_t>(body.size())));
  if (U_SUCCESS(status)) {
    icu::UnicodeString n = nfkc->normalize(s, status);
    if (U_SUCCESS(status)) s = n;
  }
  s.trim();
  // Trailing punctuation people type ("STOP." "停止。") does not change the meaning.
  while (s.length() > 0) {
    UChar32 last = s.char32At(s.length() - 1);
    if (last == u'.' || last == u'!' || last == u'。' || last == u'！' || last == u'、')
      s.truncate(s.length() - 1);
    else
      break;
  }
  s.trim();
  s.toUpper(icu::Locale::getRoot());
  std::string out;
  s.toUTF8String(out);
  return out;
}

SmsKeyword classify_keyword(std::string_view body) {
  static const char* const stops[] = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL",
                                      "END",  "QUIT",    "停止",        "配信停止"};
  static const char* const starts[] = {"START", "再開", "UNSTOP"};
  const std::string k = normalise_keyword(body);
  for (const char* s : stops)
    if (k == s) return SmsKeyword::stop;
  for (const char* s : starts)
    if (k == s) return SmsKeyword::start;
  return SmsKeyword::none;
}

std::variant<InboundSms, std::string> parse_inbound_sms(const FormFields& form) {
  std::string from, body;
  for (const auto& [k, v] : form) {
    if (k == "From")
      from = v;
    else if (k == "Body")
      body = v;
  }
  if (!valid_e164(from)) return std::string("From must be an E.164 number");
  return InboundSms{std::move(from), classify_keyword(body)};
}

SubjectChange inbound_sms_change(const Keys& k, std::string_view secret, const InboundSms& sms,
                                 TimePoint now) {
  if (sms.keyword == SmsKeyword::none) return {};
  return optout_change(k, resolve_subject(sms.from, secret), "channel:sms",
                       sms.keyword == SmsKeyword::stop, "sms-keyword", now);
}

// ---- e-mail bounces and complaints ----

std::variant<Bounce, std::string> parse_bounce(std::string_view body, int json_depth_limit) {
  if (json_too_deep(body, json_depth_limit)) return std::string("too deep");
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("address") || !j["address"].is_string() ||
      !j.contains("type") || !j["type"].is_string())
    return std::string("expected {\"address\", \"type\"}");
  Bounce b{j["address"], j["type"]};
  if (!valid_email(b.address)) return std::string("not an e-mail address");
  if (b.type != "hard" && b.type != "soft" && b.type != "complaint")
    return std::string("type must be hard, soft or complaint");
  return b;
}

SubjectChange bounce_change(const Keys& k, std::string_view secret, const Bounce& b,
                            TimePoint now) {
  if (b.type == "hard")
    return {suppress_commands(k, address_hash(b.address, secret), "email", "webhook", "hard bounce",
                              now),
            {},
            {}};
  if (b.type == "complaint")
    return optout_change(k, resolve_subject(b.address, secret), "channel:email", true,
                         "email-complaint", now);
  return {};
}

// ---- delivery status ----

DeliveryStatus parse_twilio_status(const FormFields& form) {
  DeliveryStatus s;
  for (const auto& [k, v] : form) {
    if (k == "MessageSid")
      s.provider_message_id = v;
    else if (k == "MessageStatus")
      s.status = v;
    else if (k == "ErrorCode")
      s.error_code = v;
  }
  if ((s.status == "undelivered" || s.status == "failed") && !s.error_code.empty()) {
    char* end = nullptr;
    const long code = std::strtol(s.error_code.c_str(), &end, 10);
    s.address_dead = end && *end == '\0' && channels::sms::twilio_error_means_dead_number(code);
  }
  return s;
}

std::variant<DeliveryStatus, std::string> parse_status_json(std::string_view body,
                                                            int json_depth_limit) {
  if (json_too_deep(body, json_depth_limit)) return std::string("too deep");
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("provider_message_id") ||
      !j["provider_message_id"].is_string() || !j.contains("status") || !j["status"].is_string())
    return std::string("expected {\"provider_message_id\", \"status\"}");
  DeliveryStatus s;
  s.provider_message_id = j["provider_message_id"];
  s.status = j["status"];
  if (j.contains("error_code")) {
    if (!j["error_code"].is_string() && !j["error_code"].is_number_integer())
      return std::string("error_code must be a string or an integer");
    s.error_code =
        j["error_code"].is_string() ? j["error_code"].get<std::string>() : j["error_code"].dump();
  }
  if (j.contains("address_dead")) {
    if (!j["address_dead"].is_boolean()) return std::string("address_dead must be true or false");
    s.address_dead = j["address_dead"];
  }
  return s;
}

std::optional<std::string> status_problem(const DeliveryStatus& s) {
  auto token_like = [](std::string_view v, std::size_t max, bool lower) {
    return !v.empty() && v.size() <= max && std::all_of(v.begin(), v.end(), [lower](char ch) {
      return lower ? ((ch >= 'a' && ch <= 'z') || ch == '_') : (ch > 0x20 && ch < 0x7f);
    });
  };
  if (!token_like(s.provider_message_id, 256, false)) return "missing or malformed message id";
  if (!token_like(s.status, 32, true)) return "missing or malformed status";
  if (!s.error_code.empty() && !token_like(s.error_code, 32, false)) return "malformed error code";
  return std::nullopt;
}

std::optional<SubjectChange> delivery_change(const Keys& k, const Reply& about_reply,
                                             const DeliveryStatus& s, TimePoint now) {
  auto about = about_reply.is_nil() ? json() : json::parse(about_reply.str, nullptr, false);
  if (!about.is_object() || !about.contains("subject")) return std::nullopt;
  AuditRecord rec;
  rec.time = now;
  rec.event = "delivery_status";
  rec.subject = about.value("subject", "");
  rec.message_id = about.value("id", "");
  rec.channel = about.value("channel", "");
  rec.provider = about.value("provider", "");
  rec.provider_message_id = s.provider_message_id;
  rec.extra = {{"status", s.status}};
  if (!s.error_code.empty()) rec.extra["error_code"] = s.error_code;
  SubjectChange change;
  const std::string address = about.value("address", "");
  if (s.address_dead && !address.empty()) {
    rec.reason = "address_suppressed:" + rec.channel;
    change.redis = suppress_commands(
        k, address, rec.channel, rec.provider,
        "delivery status " + s.status + (s.error_code.empty() ? "" : " " + s.error_code), now);
  }
  change.audit.push_back(std::move(rec));
  return change;
}

// ---- who may call ----

std::string twilio_signature(std::string_view auth_token, std::string_view url, FormFields params) {
  std::sort(params.begin(), params.end());
  std::string data(url);
  for (const auto& [k, v] : params) data.append(k).append(v);
  return base64(hmac_sha1(auth_token, data));
}

std::string twilio_signed_url(std::string_view public_url, std::string_view target) {
  while (!public_url.empty() && public_url.back() == '/') public_url.remove_suffix(1);
  return std::string(public_url).append(target);
}

// ---- the handlers ----

namespace {

void unavailable(const ExchangePtr& x) {
  x->error(http::status::service_unavailable, "unavailable, please retry");
}

// Twilio's routes are enabled only with an auth token (and the public URL, which serve()
// requires beside it): no network origin is trusted, a local relay or proxy included.
bool twilio_enabled(const Exchange& x) {
  const ServeOptions& o = x.services().options;
  return !o.twilio_auth_token.empty() && !o.public_url.empty();
}

// A Twilio webhook is genuine: its X-Twilio-Signature matches the configured public URL (never
// the Host header) with the path and query it called.
bool twilio_verified(const Exchange& x, const FormFields& form) {
  const ServeOptions& o = x.services().options;
  if (!twilio_enabled(x)) return false;
  const std::string expected = twilio_signature(
      o.twilio_auth_token, twilio_signed_url(o.public_url, sv(x.request().target())), form);
  return constant_time_equal(expected, x.header("X-Twilio-Signature"));
}

void count(const ExchangePtr& x, std::string kind, std::string result) {
  x->services().metrics.inc("dispatcher_webhooks_total",
                            {{"kind", std::move(kind)}, {"result", std::move(result)}});
}

bool operator_key(const ExchangePtr& x) {
  auto key = x->api_key();
  return key && key->is_operator();
}

}  // namespace

void post_sms_inbound(const ExchangePtr& x) {
  const Services& s = x->services();
  if (!twilio_enabled(*x)) return x->error(http::status::not_found, "not found");
  auto form = parse_form(x->body());
  if (!form) return x->error(http::status::bad_request, "malformed form");
  if (!twilio_verified(*x, *form))
    return x->error(http::status::forbidden, "bad or missing Twilio signature");
  auto parsed = parse_inbound_sms(*form);
  if (auto* why = std::get_if<std::string>(&parsed))
    return x->error(http::status::bad_request, *why);
  const InboundSms& sms = std::get<InboundSms>(parsed);
  // Twilio wants TwiML back; an empty <Response/> sends no reply SMS.
  auto twiml = [x](const char* result) {
    count(x, "sms_inbound", result);
    x->send(http::status::ok, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>",
            "text/xml; charset=utf-8");
  };
  if (sms.keyword == SmsKeyword::none) return twiml("ignored");
  const char* result = sms.keyword == SmsKeyword::stop ? "optout" : "optin";
  x->apply(inbound_sms_change(s.rt.keys, s.rt.secret, sms, s.now()),
           [x, twiml, result](std::error_code ec, std::vector<Reply>) {
             if (ec) return unavailable(x);
             twiml(result);
           });
}

void post_email_bounce(const ExchangePtr& x) {
  const Services& s = x->services();
  if (!operator_key(x)) return x->error(http::status::unauthorized, "operator API key required");
  auto parsed = parse_bounce(x->body(), s.options.json_depth_limit);
  if (auto* why = std::get_if<std::string>(&parsed))
    return x->error(http::status::bad_request, *why);
  const Bounce& b = std::get<Bounce>(parsed);
  auto recorded = [x, type = b.type] {
    count(x, "email_bounce", type);
    x->json_reply(http::status::ok, {{"status", "recorded"}});
  };
  auto change = bounce_change(s.rt.keys, s.rt.secret, b, s.now());
  if (change.redis.empty() && change.audit.empty()) return recorded();
  x->apply(std::move(change), [x, recorded](std::error_code ec, std::vector<Reply>) {
    if (ec) return unavailable(x);
    recorded();
  });
}

void post_delivery_status(const ExchangePtr& x) {
  const Services& s = x->services();
  // Two shapes: Twilio's StatusCallback (a signed form) and, for any other provider or relay,
  // JSON with the operator key.
  DeliveryStatus status;
  if (x->header(http::field::content_type).rfind("application/x-www-form-urlencoded", 0) == 0) {
    // Without a Twilio token the form shape is disabled; the JSON one still takes the key.
    if (!twilio_enabled(*x)) return x->error(http::status::not_found, "not found");
    auto form = parse_form(x->body());
    if (!form) return x->error(http::status::bad_request, "malformed form");
    if (!twilio_verified(*x, *form))
      return x->error(http::status::forbidden, "bad or missing Twilio signature");
    status = parse_twilio_status(*form);
  } else {
    if (!operator_key(x)) return x->error(http::status::unauthorized, "operator API key required");
    auto parsed = parse_status_json(x->body(), s.options.json_depth_limit);
    if (auto* why = std::get_if<std::string>(&parsed))
      return x->error(http::status::bad_request, *why);
    status = std::get<DeliveryStatus>(parsed);
  }
  if (auto why = status_problem(status)) return x->error(http::status::bad_request, *why);
  x->redis({cmd("GET", s.rt.keys.provider_message(status.provider_message_id))},
           [x, status](std::error_code ec, std::vector<Reply> r) {
             if (ec || r.size() != 1) return unavailable(x);
             const Services& s = x->services();
             auto change = delivery_change(s.rt.keys, r[0], status, s.now());
             if (!change) {
               // Not one of ours, or older than our records: the provider must not retry it.
               count(x, "status", "unknown_message");
               return x->json_reply(http::status::ok, {{"status", "unknown_message"}});
             }
             x->apply(std::move(*change), [x](std::error_code ec, std::vector<Reply>) {
               if (ec) return unavailable(x);
               count(x, "status", "recorded");
               x->json_reply(http::status::ok, {{"status", "recorded"}});
             });
           });
}

}  // namespace dispatcher::web
