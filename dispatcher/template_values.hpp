// What a message's template is rendered with beside the message's own data, and the check that
// it renders: one place for both, so intake refuses exactly what the run would dead-letter.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "dispatcher/runtime.hpp"
#include "model/message.hpp"
#include "templates/catalog.hpp"

namespace dispatcher {

// The locale a message is rendered in: its own, else its recipient's, else Japanese.
std::string_view render_locale(const Message& m, const Subscriber& recipient);

// The recipient's time zone, else the policy's (quiet hours, shown times, `until`).
std::string_view recipient_zone(const Runtime& rt, const Subscriber& recipient);

// The values the dispatcher fills per message (looked up before `data`): the sender's name and
// contact, the message id, the unsubscribe URL when there is one, a clinic's directory entry
// where the data leaves it out, and every `*_at` time of the data as a person reads it in `zone`
// and the template's language.
nlohmann::json injected_values(const Runtime& rt, const Message& m, const templates::Template& t,
                               std::string_view unsubscribe_url, std::string_view zone);

// Whether `m` renders, with `t`, on every channel it names that `t` has: the first render
// error (template_missing_variable:<v>, sms_too_long …) as the run would dead-letter it, or
// nullopt. A marketing message is tried with a stand-in unsubscribe URL of a real one's length.
std::optional<templates::RenderError> render_problem(const Runtime& rt, const Message& m,
                                                     const templates::Template& t,
                                                     const Subscriber& recipient, bool marketing);

}  // namespace dispatcher
