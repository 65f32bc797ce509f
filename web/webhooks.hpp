// Webhooks in: POST /webhooks/sms/inbound (SMS keywords: STOP, 停止 … → opt-out; START →
// opt-in), POST /webhooks/email/bounce (bounces and complaints) and POST /webhooks/status
// (provider delivery status). The pure parts, each form or body into the event it reports and
// the event into its Redis commands, and Twilio's signature, beside the thin handlers
// (webhooks.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "config/clock.hpp"
#include "model/keys.hpp"
#include "store/redis/reply.hpp"
#include "store/subject_requests.hpp"
#include "web/router.hpp"

namespace dispatcher::web {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// ---- inbound SMS ----

// An inbound SMS body as a keyword: NFKC (full-width ＳＴＯＰ → STOP), trimmed, upper-cased.
std::string normalise_keyword(std::string_view body);
enum class SmsKeyword { none, stop, start };
SmsKeyword classify_keyword(std::string_view body);

struct InboundSms {
  std::string from;  // E.164
  SmsKeyword keyword = SmsKeyword::none;
};
// Twilio's inbound form (From, Body), or why it is refused.
std::variant<InboundSms, std::string> parse_inbound_sms(const FormFields& form);
// STOP opts the number out of SMS, START back in; anything else changes nothing (empty).
SubjectChange inbound_sms_change(const Keys& k, std::string_view secret, const InboundSms& sms,
                                 TimePoint now);

// ---- e-mail bounces and complaints ----

struct Bounce {
  std::string address;
  std::string type;  // hard | soft | complaint
};
// {"address", "type"}, or why it is refused.
std::variant<Bounce, std::string> parse_bounce(std::string_view body, int json_depth_limit);
// A hard bounce suppresses the address, a complaint opts it out of e-mail, a soft bounce
// changes nothing (empty).
SubjectChange bounce_change(const Keys& k, std::string_view secret, const Bounce& b, TimePoint now);

// ---- delivery status ----

struct DeliveryStatus {
  std::string provider_message_id, status, error_code;
  bool address_dead = false;  // the status says the address cannot receive our messages
};
// Twilio's StatusCallback form (MessageSid, MessageStatus, ErrorCode): an undelivered or failed
// message whose error code means a dead number marks the address dead.
DeliveryStatus parse_twilio_status(const FormFields& form);
// Any other provider or relay: {"provider_message_id", "status", "error_code"?,
// "address_dead"?}, or why it is refused.
std::variant<DeliveryStatus, std::string> parse_status_json(std::string_view body,
                                                            int json_depth_limit);
// Why a status is refused (ids and words of a sane size and alphabet), or nullopt.
std::optional<std::string> status_problem(const DeliveryStatus& s);
// What records `s` in the subject's audit (and suppresses a dead address), from what the
// consumer kept about the message (GET provider_message:<id>); nullopt when that record is
// missing or unreadable (not one of ours, or older than our records).
std::optional<SubjectChange> delivery_change(const Keys& k, const redis::Reply& about,
                                             const DeliveryStatus& s, TimePoint now);

// ---- who may call ----

// Twilio's X-Twilio-Signature: base64(HMAC-SHA1(auth_token, url + sorted (name + value)...)).
std::string twilio_signature(std::string_view auth_token, std::string_view url, FormFields params);
// The URL Twilio signed: the configured public URL (a trailing '/' dropped) and the request
// target as received (path and query). Never built from the Host header.
std::string twilio_signed_url(std::string_view public_url, std::string_view target);

void post_sms_inbound(const ExchangePtr& x);
void post_email_bounce(const ExchangePtr& x);
void post_delivery_status(const ExchangePtr& x);

}  // namespace dispatcher::web
