#include "model/message.hpp"

#include <algorithm>
#include <array>

#include "codec/hex.hpp"
#include "codec/hmac.hpp"
#include "codec/phone.hpp"

namespace dispatcher {

namespace {

using nlohmann::json;

Invalid invalid(std::string what, std::string detail) {
  return Invalid{"invalid_message:" + std::move(what), std::move(detail)};
}

constexpr std::array<std::string_view, 12> known_fields{
    "id",     "sender", "purpose",         "to",      "channels",   "template",
    "locale", "data",   "data_categories", "send_at", "expires_at", "campaign"};

constexpr std::array<std::string_view, 3> known_sources{"reservation_form", "app_link_form",
                                                        "patient_registry"};

bool is_identifier(std::string_view s, std::size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

const json* field(const json& obj, std::string_view name) {
  auto it = obj.find(name);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

// Reads an optional string field; returns false (and sets `err`) when present but not a string.
bool optional_string(const json& obj, std::string_view name, std::string& out,
                     std::optional<Invalid>& err, std::string_view what) {
  const json* f = field(obj, name);
  if (!f) return true;
  if (!f->is_string()) {
    err = invalid(std::string(what), std::string(name) + " must be a string");
    return false;
  }
  out = f->get<std::string>();
  return true;
}

std::optional<Invalid> parse_push(const json& j, std::vector<PushToken>& out) {
  if (!j.is_array())
    return invalid("invalid_push", "contact.push must be an array of {platform, token}");
  for (const auto& t : j) {
    if (!t.is_object()) return invalid("invalid_push", "contact.push entries must be objects");
    const json* platform = field(t, "platform");
    const json* token = field(t, "token");
    if (!platform || !platform->is_string() ||
        (platform->get_ref<const std::string&>() != "fcm" &&
         platform->get_ref<const std::string&>() != "apns"))
      return invalid("invalid_push", "push platform must be \"fcm\" or \"apns\"");
    if (!token || !token->is_string() || !is_identifier(token->get_ref<const std::string&>(), 4096))
      return invalid("invalid_push", "push token must be a non-empty string without spaces");
    out.push_back(PushToken{platform->get<std::string>(), token->get<std::string>()});
  }
  return std::nullopt;
}

std::optional<Invalid> parse_contact_fields(const json& j, std::string_view phone_region,
                                            Contact& c) {
  std::optional<Invalid> err;
  if (!optional_string(j, "email", c.email, err, "invalid_email")) return err;
  if (!c.email.empty() && !valid_email(c.email))
    return invalid("invalid_email", "e-mail address is not valid");
  std::string written;
  if (!optional_string(j, "phone", written, err, "invalid_phone")) return err;
  if (!written.empty()) {
    // From here on the number is E.164 only: the hash, the subject key, the envelope.
    auto e164 = normalize_phone(written, phone_region);
    if (!e164) return invalid("invalid_phone", phone_refusal(written, phone_region));
    c.phone = std::move(*e164);
  }
  if (const json* p = field(j, "push")) {
    if (auto e = parse_push(*p, c.push)) return e;
  }
  if (!optional_string(j, "line", c.line, err, "invalid_line")) return err;
  if (!c.line.empty() && !valid_line_user_id(c.line))
    return invalid("invalid_line", "line must be a LINE user id: U and 32 hex digits");
  return std::nullopt;
}

std::optional<Invalid> parse_to(const json& j, std::string_view phone_region, Addressee& to) {
  if (!j.is_object()) return invalid("bad_to", "to must be an object");
  const json* sub = field(j, "subscriber");
  const json* contact = field(j, "contact");
  if (sub && contact) return invalid("bad_to", "to names both a subscriber and an inline contact");
  if (sub) {
    if (!sub->is_string() || !is_identifier(sub->get_ref<const std::string&>(), 200))
      return invalid("bad_to", "to.subscriber must be a non-empty id");
    for (const auto& [k, v] : j.items())
      if (k != "subscriber") return invalid("bad_to", "to has an unknown field: " + k);
    to = sub->get<std::string>();
    return std::nullopt;
  }
  if (!contact) return invalid("missing_to", "to must carry a subscriber id or an inline contact");
  if (!contact->is_object()) return invalid("bad_to", "to.contact must be an object");
  InlineRecipient r;
  for (const auto& [k, v] : contact->items())
    if (k != "email" && k != "phone" && k != "push")
      return invalid("bad_to", "to.contact has an unknown field: " + k);
  if (auto e = parse_contact_fields(*contact, phone_region, r.contact)) return e;
  if (r.contact.email.empty() && r.contact.phone.empty() && r.contact.push.empty())
    return invalid("empty_contact", "inline contact has no e-mail, phone or push token");
  for (const auto& [k, v] : j.items())
    if (k != "contact" && k != "clinic" && k != "source")
      return invalid("bad_to", "to has an unknown field: " + k);
  const json* clinic = field(j, "clinic");
  if (!clinic)
    return invalid("missing_clinic",
                   "an inline (non-member) contact needs the clinic it belongs to");
  if (!clinic->is_string() || !is_identifier(clinic->get_ref<const std::string&>(), 100))
    return invalid("missing_clinic", "to.clinic must be a non-empty clinic id");
  const json* source = field(j, "source");
  if (!source) return invalid("missing_source", "an inline (non-member) contact needs its source");
  if (!source->is_string() ||
      std::find(known_sources.begin(), known_sources.end(),
                source->get_ref<const std::string&>()) == known_sources.end())
    return invalid("unknown_source",
                   "to.source must be reservation_form, app_link_form or patient_registry");
  r.clinic = clinic->get<std::string>();
  r.source = source->get<std::string>();
  to = std::move(r);
  return std::nullopt;
}

std::optional<Invalid> parse_time(const json& obj, std::string_view name,
                                  std::optional<TimePoint>& out) {
  const json* f = field(obj, name);
  if (!f) return std::nullopt;
  std::string what = "bad_" + std::string(name);
  if (!f->is_string())
    return invalid(what, std::string(name) + " must be an RFC 3339 timestamp string");
  out = parse_rfc3339(f->get_ref<const std::string&>());
  if (!out) return invalid(what, std::string(name) + " is not an RFC 3339 timestamp with offset");
  return std::nullopt;
}

}  // namespace

bool valid_line_user_id(std::string_view s) {
  if (s.size() != 33 || s[0] != 'U') return false;
  return std::all_of(s.begin() + 1, s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool valid_email(std::string_view s) {
  if (s.size() < 3 || s.size() > 254) return false;
  auto at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || at + 1 >= s.size()) return false;
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  static constexpr std::string_view atext_extra = "!#$%&'*+-/=?^_`{|}~";
  char prev = '.';
  for (char c : local) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    atext_extra.find(c) != std::string_view::npos || c == '.';
    if (!ok || (c == '.' && prev == '.')) return false;
    prev = c;
  }
  if (local.back() == '.') return false;
  // Domain: dot-separated labels of letters, digits and inner hyphens; at least two labels.
  std::size_t labels = 0;
  std::size_t start = 0;
  while (start <= domain.size()) {
    auto dot = domain.find('.', start);
    std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
        return false;
    ++labels;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return labels >= 2;
}

bool valid_sender(std::string_view s) {
  if (s == "operator") return true;
  for (std::string_view prefix : {std::string_view("clinic:"), std::string_view("group:")})
    if (s.substr(0, prefix.size()) == prefix) return is_identifier(s.substr(prefix.size()), 100);
  return false;
}

Parsed<Message> parse_message(std::string_view payload, const MessageVocabulary& vocab) {
  json j = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid("not_json", "payload is not valid JSON");
  return parse_message_json(j, vocab);
}

Parsed<Message> parse_message_json(const json& j, const MessageVocabulary& vocab) {
  if (!j.is_object()) return invalid("not_object", "a message must be a JSON object");
  for (const auto& [k, v] : j.items())
    if (std::find(known_fields.begin(), known_fields.end(), k) == known_fields.end())
      return invalid("unknown_field", "unknown field: " + k);

  Message m;
  const json* id = field(j, "id");
  if (!id) return invalid("missing_id", "id is required");
  if (!id->is_string() || !is_identifier(id->get_ref<const std::string&>(), 200))
    return invalid("bad_id", "id must be 1–200 printable ASCII characters without spaces");
  m.id = id->get<std::string>();

  const json* sender = field(j, "sender");
  if (!sender) return invalid("missing_sender", "sender is required");
  if (!sender->is_string() || !valid_sender(sender->get_ref<const std::string&>()))
    return invalid("bad_sender", "sender must be operator, clinic:<id> or group:<id>");
  m.sender = sender->get<std::string>();

  const json* purpose = field(j, "purpose");
  if (!purpose) return invalid("missing_purpose", "purpose is required");
  if (!purpose->is_string() ||
      (vocab.known_purpose && !vocab.known_purpose(purpose->get_ref<const std::string&>())))
    return invalid("unknown_purpose", "purpose is not one the policy knows");
  m.purpose = purpose->get<std::string>();

  const json* to = field(j, "to");
  if (!to) return invalid("missing_to", "to is required");
  if (auto e = parse_to(*to, vocab.phone_region, m.to)) return *e;

  const json* channels = field(j, "channels");
  if (!channels) return invalid("missing_channels", "channels is required");
  if (!channels->is_array() || channels->empty())
    return invalid("bad_channels", "channels must be a non-empty array");
  for (const auto& c : *channels) {
    auto ch = c.is_string() ? parse_channel(c.get_ref<const std::string&>()) : std::nullopt;
    if (!ch) return invalid("unknown_channel", "channels may hold only email, sms, push and line");
    if (std::find(m.channels.begin(), m.channels.end(), *ch) != m.channels.end())
      return invalid("duplicate_channel", "a channel is named twice");
    m.channels.push_back(*ch);
  }

  const json* tmpl = field(j, "template");
  if (!tmpl) return invalid("missing_template", "template is required");
  if (!tmpl->is_string() ||
      (vocab.known_template && !vocab.known_template(tmpl->get_ref<const std::string&>())))
    return invalid("unknown_template", "template is not one the catalog holds");
  m.template_name = tmpl->get<std::string>();

  std::optional<Invalid> err;
  if (!optional_string(j, "locale", m.locale, err, "bad_locale")) return *err;
  if (!m.locale.empty() && (m.locale.size() > 16 || !is_identifier(m.locale, 16)))
    return invalid("bad_locale", "locale must be a short language tag such as ja or en");

  if (const json* data = field(j, "data")) {
    if (!data->is_object()) return invalid("bad_data", "data must be an object");
    m.data = *data;
  }
  if (const json* cats = field(j, "data_categories")) {
    if (!cats->is_array())
      return invalid("bad_data_categories", "data_categories must be an array of strings");
    for (const auto& c : *cats) {
      if (!c.is_string())
        return invalid("bad_data_categories", "data_categories must be an array of strings");
      if (vocab.known_category && !vocab.known_category(c.get_ref<const std::string&>()))
        return invalid("unknown_category", "unknown data category: " + c.get<std::string>());
      m.data_categories.push_back(c.get<std::string>());
    }
  }
  if (auto e = parse_time(j, "send_at", m.send_at)) return *e;
  if (auto e = parse_time(j, "expires_at", m.expires_at)) return *e;
  if (!optional_string(j, "campaign", m.campaign, err, "bad_campaign")) return *err;
  if (!m.campaign.empty() && !is_identifier(m.campaign, 200))
    return invalid("bad_campaign", "campaign must be an identifier without spaces");
  return m;
}

Parsed<Subscriber> parse_subscriber(std::string_view line, std::string_view phone_region) {
  json j = json::parse(line, nullptr, false);
  auto bad = [](std::string what, std::string detail) {
    return Invalid{"invalid_subscriber:" + std::move(what), std::move(detail)};
  };
  if (j.is_discarded()) return bad("not_json", "line is not valid JSON");
  if (!j.is_object()) return bad("not_object", "a subscriber must be a JSON object");
  static constexpr std::array<std::string_view, 11> fields{"id",     "member", "clinic", "clinics",
                                                           "source", "email",  "phone",  "push",
                                                           "line",   "locale", "tz"};
  for (const auto& [k, v] : j.items())
    if (std::find(fields.begin(), fields.end(), k) == fields.end())
      return bad("unknown_field", "unknown field: " + k);
  Subscriber s;
  const json* id = field(j, "id");
  if (!id || !id->is_string() || !is_identifier(id->get_ref<const std::string&>(), 200))
    return bad("missing_id", "id must be a non-empty id");
  s.id = id->get<std::string>();
  if (s.id.rfind("contact:", 0) == 0)
    return bad("bad_id", "ids starting with contact: are reserved");
  const json* member = field(j, "member");
  if (!member || !member->is_boolean())
    return bad("missing_member", "member must be true or false");
  s.member = member->get<bool>();
  std::optional<Invalid> err;
  for (auto [name, out] : {std::pair{"clinic", &s.clinic}, std::pair{"source", &s.source},
                           std::pair{"locale", &s.locale}, std::pair{"tz", &s.tz}}) {
    if (!optional_string(j, name, *out, err, std::string("bad_") + name))
      return bad(std::string("bad_") + name, std::string(name) + " must be a string");
  }
  if (const json* cl = field(j, "clinics")) {
    if (!cl->is_array()) return bad("bad_clinics", "clinics must be an array of clinic ids");
    for (const auto& c : *cl) {
      if (!c.is_string() || !is_identifier(c.get_ref<const std::string&>(), 100))
        return bad("bad_clinics", "clinics must be an array of clinic ids (\"c-102\")");
      s.clinics.push_back(c.get<std::string>());
    }
  }
  if (!s.member && s.clinic.empty())
    return bad("missing_clinic", "a non-member belongs to a clinic: clinic is required");
  if (!s.member &&
      std::find(known_sources.begin(), known_sources.end(), s.source) == known_sources.end())
    return bad("unknown_source",
               "a non-member's source must be reservation_form, app_link_form or patient_registry");
  if (auto e = parse_contact_fields(j, phone_region, s.contact)) {
    return bad(e->reason.substr(e->reason.find(':') + 1), e->detail);
  }
  return s;
}

nlohmann::json to_json(const Subscriber& s) {
  json j = {{"id", s.id}, {"member", s.member}};
  if (!s.clinic.empty()) j["clinic"] = s.clinic;
  if (!s.clinics.empty()) j["clinics"] = s.clinics;
  if (!s.source.empty()) j["source"] = s.source;
  if (!s.contact.email.empty()) j["email"] = s.contact.email;
  if (!s.contact.phone.empty()) j["phone"] = s.contact.phone;
  if (!s.contact.push.empty()) {
    j["push"] = json::array();
    for (const auto& t : s.contact.push)
      j["push"].push_back({{"platform", t.platform}, {"token", t.token}});
  }
  if (!s.contact.line.empty()) j["line"] = s.contact.line;
  if (!s.locale.empty()) j["locale"] = s.locale;
  if (!s.tz.empty()) j["tz"] = s.tz;
  return j;
}

std::string address_hash(std::string_view address, std::string_view secret) {
  std::string normalized(address);
  if (normalized.find('@') != std::string::npos)
    std::transform(normalized.begin(), normalized.end(), normalized.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // 128 bits are plenty for a key and keep keys short.
  return to_hex(hmac_sha256(secret, normalized).substr(0, 16));
}

std::string inline_subject_key(const Contact& c, std::string_view secret) {
  const std::string& first = !c.email.empty()   ? c.email
                             : !c.phone.empty() ? c.phone
                                                : c.push.front().token;
  return "contact:" + address_hash(first, secret);
}

std::string subject_key(const Message& m, std::string_view secret) {
  if (const auto* id = std::get_if<std::string>(&m.to)) return *id;
  return inline_subject_key(std::get<InlineRecipient>(m.to).contact, secret);
}

}  // namespace dispatcher
