#include "web/unsubscribe.hpp"

#include <algorithm>

#include "model/unsubscribe_token.hpp"
#include "store/subject_store.hpp"
#include "web/exchange.hpp"
#include "web/preferences_page.hpp"
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
    if (k == "form" && v == "prefs-v1")
      has_marker = true;
    else if (k == "purpose" && std::find(offered_purposes.begin(), offered_purposes.end(), v) !=
                                   offered_purposes.end())
      out.purposes.insert(v);
    else if (k == "channel" && parse_channel(v))
      out.channels.insert(v);
    else if (k == "stop_all" && v == "1")
      out.stop_all = true;
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

PreferenceChanges preference_changes(const PreferencesForm& form,
                                     const std::set<std::string>& out_now,
                                     const std::vector<std::string>& offered_purposes,
                                     const std::vector<Channel>& offered_channels) {
  PreferenceChanges c;
  auto set = [&](std::string scope, bool out) {
    if (out != (out_now.count(scope) > 0)) c.optouts.push_back({std::move(scope), out});
  };
  bool purpose_back_in = false;
  for (const auto& p : offered_purposes) {
    const bool out = !form.purposes.count(p);
    if (!out && out_now.count("purpose:" + p)) purpose_back_in = true;
    set("purpose:" + p, out);
  }
  for (Channel ch : offered_channels)
    set("channel:" + std::string(to_string(ch)), !form.channels.count(std::string(to_string(ch))));
  if (!form.stop_all && out_now.count("all")) purpose_back_in = true;
  set("all", form.stop_all);
  if (purpose_back_in && !form.stop_all)
    for (const auto& ch : form.channels)
      if (std::find(offered_channels.begin(), offered_channels.end(), *parse_channel(ch)) !=
          offered_channels.end())
        c.consents.push_back(*parse_channel(ch));
  return c;
}

std::vector<redis::Command> preference_commands(const Keys& k, const SubjectRef& subject,
                                                const PreferenceChanges& changes, TimePoint now) {
  std::vector<redis::Command> cmds;
  for (const auto& o : changes.optouts) {
    auto more = optout_commands(k, subject, o.scope, o.out, "unsubscribe-page", now);
    cmds.insert(cmds.end(), more.begin(), more.end());
  }
  for (Channel ch : changes.consents)
    for (auto& c : consent_commands(
             k, subject, ch, ConsentProof{"unsubscribe_page", "prefs-page-v1", "unsubscribe-page"},
             now))
      cmds.push_back(std::move(c));
  return cmds;
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

// An expired or broken link still says what to do.
void link_gone_page(const ExchangePtr& x) {
  x->send(http::status::not_found,
          render_message_page(
              x->lang(), 404, "このリンクは無効です", "This link is not valid",
              "リンクの有効期限が切れているか、正しくありません。お手数ですが、最新のメールのリンク"
              "からお試しください。",
              "The link has expired or is not correct. Please use the link in our latest message."),
          "text/html; charset=utf-8");
}

void link_gone(const ExchangePtr& x) {
  x->error(http::status::not_found, "link not valid or expired");
}

}  // namespace

void get_unsubscribe(const ExchangePtr& x) {
  const Services& s = x->services();
  const std::string token = x->param(0);
  auto claims = verify_token(token, s.rt.secret, s.now());
  if (!claims) return link_gone_page(x);
  x->redis({cmd("GET", s.rt.keys.unsubscribe_ref(claims->ref))}, [x, token](std::error_code ec,
                                                                            std::vector<Reply> r) {
    if (ec) return unavailable(x);
    if (r[0].is_nil()) return link_gone_page(x);
    const Keys& k = x->services().rt.keys;
    x->redis({cmd("HGETALL", k.state(r[0].str)), cmd("HGET", k.subscriber(r[0].str), "line_h")},
             [x, token](std::error_code ec, std::vector<Reply> r) {
               if (ec) return unavailable(x);
               PreferencesView v;
               v.lang = x->lang();
               v.token = token;
               v.saved = x->query().count("saved") > 0;
               v.purposes = x->services().page_purposes;
               v.opted_out = opted_out_scopes(r[0]);
               v.channels = offered_channels(r[1]);
               x->send(http::status::ok, render_preferences_page(v), "text/html; charset=utf-8");
             });
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
  x->redis({cmd("GET", s.rt.keys.unsubscribe_ref(claims->ref))}, [x, scope = claims->scope](
                                                                     std::error_code ec,
                                                                     std::vector<Reply> r) {
    if (ec) return unavailable(x);
    if (r[0].is_nil()) return link_gone(x);
    const Services& s = x->services();
    x->redis(
        optout_commands(s.rt.keys, subject_from_key(r[0].str), scope, true, "one-click", s.now()),
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
  x->redis({cmd("GET", s.rt.keys.unsubscribe_ref(claims->ref))}, [x,
                                                                  form = std::get<PreferencesForm>(
                                                                      parsed)](
                                                                     std::error_code ec,
                                                                     std::vector<Reply> r) {
    if (ec) return unavailable(x);
    if (r[0].is_nil()) return link_gone(x);
    const SubjectRef subject = subject_from_key(r[0].str);
    const Keys& k = x->services().rt.keys;
    x->redis(
        {cmd("HGETALL", k.state(subject.key)), cmd("HGET", k.subscriber(subject.key), "line_h")},
        [x, form, subject](std::error_code ec, std::vector<Reply> r) {
          if (ec) return unavailable(x);
          const Services& s = x->services();
          const auto changes = preference_changes(form, opted_out_scopes(r[0]), s.page_purposes,
                                                  offered_channels(r[1]));
          auto saved = [x] {
            x->services().metrics.inc("dispatcher_unsubscribes_total", {{"kind", "preferences"}});
            x->redirect(saved_location(x->param(0), x->lang()));
          };
          auto cmds = preference_commands(s.rt.keys, subject, changes, s.now());
          if (cmds.empty()) return saved();
          x->redis(std::move(cmds), [x, saved](std::error_code ec, std::vector<Reply>) {
            if (ec) return unavailable(x);
            saved();
          });
        });
  });
}

}  // namespace dispatcher::web
