#include "dispatcher/template_values.hpp"

#include <string>

#include "templates/display_times.hpp"

namespace dispatcher {

std::string_view render_locale(const Message& m, const Subscriber& recipient) {
  if (!m.locale.empty()) return m.locale;
  if (!recipient.locale.empty()) return recipient.locale;
  return "ja";
}

std::string_view recipient_zone(const Runtime& rt, const Subscriber& recipient) {
  return recipient.tz.empty() ? rt.policy->default_zone() : std::string_view(recipient.tz);
}

nlohmann::json injected_values(const Runtime& rt, const Message& m, const templates::Template& t,
                               std::string_view unsubscribe_url, std::string_view zone) {
  const auto& ident = rt.identity_of(m.sender);
  nlohmann::json injected = {
      {"sender_name", ident.name}, {"sender_contact", ident.contact}, {"message_id", m.id}};
  if (!unsubscribe_url.empty()) injected["unsubscribe_url"] = unsubscribe_url;
  // A clinic's directory entry fills what its message leaves out, so a reminder need carry only
  // what is about the appointment; the message's own data wins where given (injected values are
  // looked up first, so only the absent ones are set).
  if (const config::SenderIdentity* clinic = rt.clinic_of(m.sender))
    for (const auto& [key, value] :
         {std::pair{"clinic_name", &clinic->name}, std::pair{"clinic_phone", &clinic->phone},
          std::pair{"clinic_address", &clinic->address},
          std::pair{"reservation_url", &clinic->reservation_url}})
      if (!value->empty() && !m.data.contains(key)) injected[key] = *value;
  // Times the producer sends as RFC 3339 (`starts_at` …) are shown as a person reads them, in
  // the recipient's zone and the template's language; other values are printed as given.
  templates::add_display_times(m.data, zone, t.locale(), injected);
  return injected;
}

std::optional<templates::RenderError> render_problem(const Runtime& rt, const Message& m,
                                                     const templates::Template& t,
                                                     const Subscriber& recipient, bool marketing) {
  // A token is at most 64 characters (verify_token); the SMS and LINE length checks see a URL
  // that long.
  const std::string stand_in =
      marketing ? rt.config.unsubscribe.base_url + std::string(64, 'x') : std::string();
  const nlohmann::json injected =
      injected_values(rt, m, t, stand_in, recipient_zone(rt, recipient));
  templates::Rendered out;
  for (Channel c : m.channels)
    if (t.has_channel(c))
      if (auto err = t.render_into(c, m.data, injected, out)) return err;
  return std::nullopt;
}

}  // namespace dispatcher
