// The message of DESIGN.md's wire format, parsed and validated.
//
// parse_message() is pure: no Redis, no clock. Every defect has its own reason,
// `invalid_message:<what>`, which travels to the dead-letter stream with the payload.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "codec/phone.hpp"  // normalize_phone, valid_e164, with the other address checks
#include "config/clock.hpp"
#include "config/vocabulary.hpp"

namespace dispatcher {

struct PushToken {
  std::string platform;  // "fcm" or "apns"
  std::string token;
};

struct Contact {
  std::string email;  // empty when absent
  std::string phone;  // E.164 (normalised from the form written), empty when absent
  std::vector<PushToken> push;
  std::string line;  // LINE user id ("U" and 32 hex digits), empty when absent

  bool has(Channel c) const noexcept {
    switch (c) {
      case Channel::email:
        return !email.empty();
      case Channel::sms:
        return !phone.empty();
      case Channel::push:
        return !push.empty();
      case Channel::line:
        return !line.empty();
    }
    return false;
  }
};

// `to` of a message: a stored subscriber by id, or a non-member contact carried inline.
struct InlineRecipient {
  Contact contact;
  std::string clinic;  // the clinic the contact is registered with ("c-102")
  std::string source;  // reservation_form | app_link_form | patient_registry
};
using Addressee = std::variant<std::string /*subscriber id*/, InlineRecipient>;

struct Message {
  std::string id;
  std::string sender;   // operator | clinic:<id> | group:<id>
  std::string purpose;  // one of POLICY.md's purposes
  Addressee to;
  std::vector<Channel> channels;  // order of preference, no duplicates
  std::string template_name;
  std::string locale;  // empty: the recipient's, else "ja"
  nlohmann::json data = nlohmann::json::object();
  std::vector<std::string> data_categories;
  std::optional<TimePoint> send_at;
  std::optional<TimePoint> expires_at;
  std::string campaign;
};

// A subscriber record (DESIGN.md), also the resolved form of an inline contact.
struct Subscriber {
  std::string id;
  bool member = false;
  std::string clinic;  // non-members: the clinic they belong to
  std::string source;
  // members: the clinics they have a relation with (kept by the booking system); a clinic
  // messages only these members (rule 8, clinic_no_relation)
  std::vector<std::string> clinics;
  Contact contact;
  std::string locale;  // empty: "ja"
  std::string tz;      // empty: "Asia/Tokyo"
};

// What parsing found wrong: `reason` is the full code ("invalid_message:bad_send_at"),
// `detail` a human sentence naming the field.
struct Invalid {
  std::string reason;
  std::string detail;
};

template <class T>
using Parsed = std::variant<T, Invalid>;

// The closed lists a message is checked against. Purposes come from the policy file,
// so the parser asks rather than knowing them.
struct MessageVocabulary {
  std::function<bool(std::string_view)> known_purpose;
  std::function<bool(std::string_view)> known_template;  // null: any name is accepted
  std::function<bool(std::string_view)> known_category;  // null: any category is accepted
  // Where a phone number written without "+<country>" is read (config's phone_region).
  std::string phone_region{default_phone_region};
};

Parsed<Message> parse_message(std::string_view payload, const MessageVocabulary& vocab);
Parsed<Message> parse_message_json(const nlohmann::json& payload, const MessageVocabulary& vocab);
// A subscriber record; its phone, as written, becomes E.164 (national numbers read in
// `phone_region`; empty: international numbers only, as stored records hold).
Parsed<Subscriber> parse_subscriber(std::string_view line, std::string_view phone_region);
nlohmann::json to_json(const Subscriber& s);

// Keyed one-way hash of an address (lower-cased e-mail or E.164 phone, as parsing leaves it: a
// number hashed in any other form would be another person), hex: how addresses
// appear in Redis keys, erasure markers and suppression lists, never in clear.
std::string address_hash(std::string_view address, std::string_view secret);

// The subject key under which state, history and caps are kept: the subscriber id, or
// for an inline contact an opaque "contact:<hash>" derived from its e-mail or phone.
std::string subject_key(const Message& m, std::string_view secret);
std::string inline_subject_key(const Contact& c, std::string_view secret);

// Field checks shared by messages, subscribers and webhooks.
bool valid_email(std::string_view s);
// A LINE user id as the Messaging API gives it: "U" and 32 lower-case hex digits.
bool valid_line_user_id(std::string_view s);
bool valid_sender(std::string_view s);

}  // namespace dispatcher
