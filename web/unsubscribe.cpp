#include "web/unsubscribe.hpp"

#include <algorithm>
#include <functional>
#include <memory>

#include "web/exchange.hpp"
#include "web/services.hpp"
#include "web/text.hpp"

namespace dispatcher::web {

using redis::cmd;
using redis::Reply;
namespace http = boost::beast::http;

bool is_one_click(std::string_view body) {
  auto form = parse_form(body);
  return form && form->size() == 1 && (*form)[0].first == "List-Unsubscribe" &&
         (*form)[0].second == "One-Click";
}

std::variant<PreferencesForm, std::string> parse_preferences_form(
    std::string_view body, const std::vector<std::string>& offered_purposes) {
  auto form = parse_form(body);
  if (!form) return std::string("malformed form");
  PreferencesForm out;
  bool has_marker = false;
  for (const auto& [k, v] : *form) {
    if (k == "form" && v == "prefs-v2")
      has_marker = true;
    else if (k == "purpose" && std::find(offered_purposes.begin(), offered_purposes.end(), v) !=
                                   offered_purposes.end())
      out.purposes.insert(v);
    else if (k == "channel" && parse_channel(v))
      out.channels.insert(v);
    else if (k == "stop_marketing" && v == "1")
      out.stop_marketing = true;
    else if (k == "stop_everything" && v == "1")
      out.stop_everything = true;
    else if (k == "stop_link_scope" && v == "1")
      out.stop_link_scope = true;
    else
      return std::string("unexpected field in form");
  }
  if (!has_marker) return std::string("not a preferences form");
  return out;
}

std::set<std::string> opted_out_scopes(const Reply& state) {
  std::set<std::string> out;
  for (std::size_t i = 0; i + 1 < state.elements.size(); i += 2) {
    const std::string& f = state.elements[i].str;
    if (f.rfind("optout:", 0) == 0) out.insert(f.substr(7));
  }
  return out;
}

PreferenceState preference_subject(const SubjectRef& subject, const Reply& subscriber_hash,
                                   const TokenClaims& claims) {
  PreferenceState s;
  s.link_channel = claims.channel;
  s.link_scope = claims.scope;
  for (std::size_t i = 0; i + 1 < subscriber_hash.elements.size(); i += 2)
    if (subscriber_hash.elements[i].str == "json")
      if (auto sub = parse_subscriber_reply(subscriber_hash.elements[i + 1]))
        s.recipient = std::move(*sub);
  if (!s.recipient.id.empty()) {
    s.hashes = hashes_of_record(subscriber_hash);
    return s;
  }
  // A contact reached inline has no record: all the page knows is the address hash in its key
  // and the channel its link came by. The stand-in address only says "reachable there"; no
  // address is read or shown.
  s.recipient.id = subject.key;
  s.recipient.member = false;
  if (subject.address_hash.empty() || !claims.channel) return s;
  switch (*claims.channel) {
    case Channel::email:
      s.recipient.contact.email = s.hashes.email = subject.address_hash;
      break;
    case Channel::sms:
      s.recipient.contact.phone = s.hashes.phone = subject.address_hash;
      break;
    case Channel::push:
      s.recipient.contact.push = {{"", subject.address_hash}};
      s.hashes.push = {subject.address_hash};
      break;
    case Channel::line:
      s.recipient.contact.line = s.hashes.line = subject.address_hash;
      break;
  }
  return s;
}

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

PreferencesView preferences_view(const policy::Policy& p, const PreferenceState& s,
                                 const std::vector<std::string>& purposes) {
  const policy::SubjectState& st = s.state;
  PreferencesView v;
  v.all_out = has(st.optouts, "all");
  v.marketing_out = has(st.optouts, "marketing");
  v.nothing_sent = v.all_out || st.erased || st.stopped_all;
  v.booking_stopped = has(st.optouts, "purpose:reservation") ||
                      has(st.stopped_purposes, "reservation") || has(st.optouts, "sender:operator");
  for (const auto& scope : st.optouts)
    if (scope.rfind("sender:", 0) == 0 && scope != "sender:operator")
      v.senders_out.push_back(scope.substr(7));
  const bool marketing_open = !v.nothing_sent && !v.marketing_out;
  bool any_purpose = false;
  for (const auto& purpose : purposes) {
    const bool open = marketing_open && !has(st.optouts, "purpose:" + purpose) &&
                      !has(st.stopped_purposes, purpose);
    any_purpose = any_purpose || open;
    v.purposes.push_back({purpose, open});
  }
  if (s.link_scope.rfind("purpose:", 0) == 0) {
    v.link_purpose = s.link_scope.substr(8);
    v.link_purpose_out = has(st.optouts, s.link_scope);
  }
  static const policy::SubjectState nothing_recorded;
  for (Channel c : all_channels) {
    // A box for each channel the subject can be reached on at all (rule 10 with nothing
    // recorded: only "unreachable" or "not for non-members" remain).
    if (!p.channel_refusal(s.recipient, nothing_recorded, c, false).empty()) continue;
    const bool marketing_here = p.channel_refusal(s.recipient, st, c, true).empty();
    const std::string name(to_string(c));
    const bool at_address =
        (has(st.optouts, "channel:" + name) && !s.own.count("channel:" + name)) ||
        (has(st.optouts, "marketing:channel:" + name) && !s.own.count("marketing:channel:" + name));
    v.channels.push_back(
        {c, marketing_open && marketing_here, s.link_channel == c, at_address && !v.nothing_sent});
    if (marketing_open && any_purpose && marketing_here) v.marketing_channels.push_back(c);
    if (!v.nothing_sent && !v.booking_stopped &&
        p.channel_refusal(s.recipient, st, c, false).empty())
      v.booking_channels.push_back(c);
  }
  return v;
}

PreferenceChanges preference_changes(const PreferencesForm& form, const PreferencesView& shown,
                                     const PreferenceState& s, const policy::Policy& p) {
  PreferenceChanges c;
  const policy::SubjectState& st = s.state;
  // Out: written unless already out (here or at the address). In: only what state:<subject>
  // holds can be withdrawn; an address-level opt-out (an SMS STOP) stays until its own START.
  auto out = [&](std::string scope) {
    if (!has(st.optouts, scope)) c.optouts.push_back({std::move(scope), true});
  };
  auto in = [&](std::string scope) {
    if (s.own.count(scope)) c.optouts.push_back({std::move(scope), false});
  };
  auto set = [&](std::string scope, bool want_out) {
    want_out ? out(std::move(scope)) : in(std::move(scope));
  };
  if (form.stop_link_scope) {
    if (!s.link_scope.empty()) out(s.link_scope);
    return c;
  }
  set("all", form.stop_everything);
  set("marketing", form.stop_marketing);
  // A stop chosen is the whole answer: the boxes below it say nothing more.
  if (form.stop_everything || form.stop_marketing) return c;
  for (const auto& b : shown.purposes) set("purpose:" + b.purpose, !form.purposes.count(b.purpose));
  for (const auto& b : shown.channels) {
    const std::string name(to_string(b.channel));
    const bool wanted = form.channels.count(name) > 0;
    if (wanted && b.can_resume) {
      in("marketing:channel:" + name);
      in("channel:" + name);
      if (p.marketing_needs_consent(b.channel) && !st.consent[index(b.channel)])
        c.consents.push_back(b.channel);
    } else if (!(wanted && b.ticked) &&
               p.channel_refusal(s.recipient, st, b.channel, true).empty()) {
      // Closed after saving: unticked, or ticked where this link may not open it (it was shown
      // unticked only because `marketing` or `all` held, which this save withdraws).
      out("marketing:channel:" + name);
    }
  }
  return c;
}

SubjectChange preference_change(const Keys& k, const SubjectRef& subject,
                                const PreferenceChanges& changes, TimePoint now) {
  SubjectChange out;
  for (const auto& o : changes.optouts)
    out.append(optout_change(k, subject, o.scope, o.out, "unsubscribe-page", now));
  for (Channel ch : changes.consents)
    out.append(consent_change(
        k, subject, ch, ConsentProof{"unsubscribe_page", kPreferencesWording, "unsubscribe-page"},
        now));
  return out;
}

SubjectRef subject_from_key(const std::string& key) {
  SubjectRef s{key, {}};
  if (key.rfind("contact:", 0) == 0) s.address_hash = key.substr(8);
  return s;
}

std::string saved_location(std::string_view token, std::string_view lang) {
  return "/u/" + std::string(token) + "?saved=1" + (lang == "en" ? "&lang=en" : "");
}

// ---- the handlers ----

namespace {

void unavailable(const ExchangePtr& x) {
  x->error(http::status::service_unavailable, "unavailable, please retry");
}

// An expired or broken link still says what to do, and whom to ask.
void link_gone_page(const ExchangePtr& x) {
  x->send(http::status::not_found,
          render_message_page(
              x->lang(), x->services().rt.config.operator_identity, "このリンクは無効です",
              "This link is not valid",
              "リンクの有効期限が切れているか、正しくありません。お手数ですが、最新のメールのリンク"
              "からお試しください。",
              "The link has expired or is not correct. Please use the link in our latest message."),
          "text/html; charset=utf-8");
}

void link_gone(const ExchangePtr& x) {
  x->error(http::status::not_found, "link not valid or expired");
}

using StateDone = std::function<void(const SubjectRef&, PreferenceState)>;

// The subject behind the link, and everything the policy gate would read about it: the
// reference, then the record's address hashes, then state_commands() — the gate's own reads.
void read_preferences(const ExchangePtr& x, const TokenClaims& claims, bool page, StateDone done) {
  const Keys& k = x->services().rt.keys;
  x->redis({cmd("GET", k.unsubscribe_ref(claims.ref))},
           [x, claims, page, done = std::move(done)](std::error_code ec, std::vector<Reply> r) {
             if (ec) return unavailable(x);
             if (r[0].is_nil()) return page ? link_gone_page(x) : link_gone(x);
             const SubjectRef subject = subject_from_key(r[0].str);
             const Keys& k = x->services().rt.keys;
             x->redis({cmd("HGETALL", k.subscriber(subject.key))},
                      [x, claims, subject, done](std::error_code ec, std::vector<Reply> r) {
                        if (ec) return unavailable(x);
                        auto s = std::make_shared<PreferenceState>(
                            preference_subject(subject, r[0], claims));
                        std::vector<redis::Command> cmds;
                        state_commands(x->services().rt.keys, subject.key, s->hashes, false,
                                       x->services().now(), cmds);
                        x->redis(std::move(cmds),
                                 [x, s, subject, done](std::error_code ec, std::vector<Reply> r) {
                                   if (ec) return unavailable(x);
                                   s->state = parse_state(r.data(), r.size(), s->hashes, false);
                                   s->own = opted_out_scopes(r[0]);
                                   done(subject, std::move(*s));
                                 });
                      });
           });
}

}  // namespace

void get_unsubscribe(const ExchangePtr& x) {
  const Services& s = x->services();
  const std::string token = x->param(0);
  auto claims = verify_token(token, s.rt.secret, s.now());
  if (!claims) return link_gone_page(x);
  read_preferences(x, *claims, true, [x, token](const SubjectRef&, PreferenceState state) {
    const Services& s = x->services();
    PreferencesView v = preferences_view(s.policy, state, s.page_purposes);
    v.lang = x->lang();
    v.token = token;
    v.saved = x->query().count("saved") > 0;
    v.brand = s.rt.config.operator_identity;
    for (auto& sender : v.senders_out)  // the clinic's name, as its messages sign
      if (const auto* clinic = s.rt.clinic_of(sender)) sender = clinic->name;
    x->send(http::status::ok, render_preferences_page(v), "text/html; charset=utf-8");
  });
}

void post_one_click(const ExchangePtr& x) {
  const Services& s = x->services();
  auto claims = verify_token(x->param(0), s.rt.secret, s.now());
  if (!claims) return link_gone(x);
  if (!is_one_click(x->body()))
    return x->error(http::status::bad_request, "expected the body List-Unsubscribe=One-Click");
  std::string why;
  if (!valid_scope(claims->scope, why))
    return x->error(http::status::bad_request, "link not valid");
  x->redis(
      {cmd("GET", s.rt.keys.unsubscribe_ref(claims->ref))},
      [x, scope = claims->scope](std::error_code ec, std::vector<Reply> r) {
        if (ec) return unavailable(x);
        if (r[0].is_nil()) return link_gone(x);
        const Services& s = x->services();
        x->apply(
            optout_change(s.rt.keys, subject_from_key(r[0].str), scope, true, "one-click", s.now()),
            [x](std::error_code ec, std::vector<Reply>) {
              if (ec) return unavailable(x);
              x->services().metrics.inc("dispatcher_unsubscribes_total", {{"kind", "one_click"}});
              x->send(http::status::ok, "unsubscribed\n", "text/plain; charset=utf-8");
            });
      });
}

void post_preferences(const ExchangePtr& x) {
  const Services& s = x->services();
  auto claims = verify_token(x->param(0), s.rt.secret, s.now());
  if (!claims) return link_gone(x);
  auto parsed = parse_preferences_form(x->body(), s.page_purposes);
  if (auto* why = std::get_if<std::string>(&parsed))
    return x->error(http::status::bad_request, *why);
  read_preferences(
      x, *claims, false,
      [x, form = std::get<PreferencesForm>(parsed)](const SubjectRef& subject,
                                                    PreferenceState state) {
        const Services& s = x->services();
        const PreferencesView shown = preferences_view(s.policy, state, s.page_purposes);
        const auto changes = preference_changes(form, shown, state, s.policy);
        auto saved = [x] {
          x->services().metrics.inc("dispatcher_unsubscribes_total", {{"kind", "preferences"}});
          x->redirect(saved_location(x->param(0), x->lang()));
        };
        auto change = preference_change(s.rt.keys, subject, changes, s.now());
        if (change.redis.empty() && change.audit.empty()) return saved();
        x->apply(std::move(change), [x, saved](std::error_code ec, std::vector<Reply>) {
          if (ec) return unavailable(x);
          saved();
        });
      });
}

}  // namespace dispatcher::web
