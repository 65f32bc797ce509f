// GET /u/{token} (the preference page), POST /u/{token} (RFC 8058 one-click) and POST
// /u/{token}/preferences (the page's form): the pure parts, the one-click body check, the form
// into the opt-out changes it asks for, beside the three thin handlers (unsubscribe.cpp).
// What the page's controls mean is POLICY.md's; the page itself is preferences_page.hpp.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/clock.hpp"
#include "config/vocabulary.hpp"
#include "model/keys.hpp"
#include "store/redis/reply.hpp"
#include "store/subject_requests.hpp"
#include "web/router.hpp"

namespace dispatcher::web {

// RFC 8058: the body of a one-click POST is exactly the one field List-Unsubscribe=One-Click.
bool is_one_click(std::string_view body);

// What the preference form asks for: the purposes and channels left ticked, and "stop all".
struct PreferencesForm {
  std::set<std::string> purposes;  // only purposes the page offers
  std::set<std::string> channels;  // only channels there are
  bool stop_all = false;
};
// The form body (form=prefs-v1 & purpose=… & channel=… & stop_all=1), or why it is refused:
// "malformed form", "unexpected field in form" or "not a preferences form".
std::variant<PreferencesForm, std::string> parse_preferences_form(
    std::string_view body, const std::vector<std::string>& offered_purposes);

// The scopes a subject is opted out of, from HGETALL state:<subject> (its optout:<scope> fields).
std::set<std::string> opted_out_scopes(const redis::Reply& state);

struct OptOutChange {
  std::string scope;  // purpose:<p>, channel:<c> or all
  bool out = false;
};
struct PreferenceChanges {
  std::vector<OptOutChange> optouts;  // only scopes whose state changes: no write, no audit noise
  // Opting back in to marketing is a consent (特定電子メール法): recorded, with its proof, for
  // each channel left ticked.
  std::vector<Channel> consents;
};
// What saving `form` changes for a subject now opted out of `out_now`.
// Only what the page offered changes: a channel without a box (LINE for a member without a LINE
// id) keeps its opt-out state whatever the form says.
PreferenceChanges preference_changes(const PreferencesForm& form,
                                     const std::set<std::string>& out_now,
                                     const std::vector<std::string>& offered_purposes,
                                     const std::vector<Channel>& offered_channels);
std::vector<redis::Command> preference_commands(const Keys& k, const SubjectRef& subject,
                                                const PreferenceChanges& changes, TimePoint now);

// The subject behind an unsubscribe reference (GET unsubscribe_ref): a member id or
// contact:<hash>, whose address-level markers go under the hash.
SubjectRef subject_from_key(const std::string& key);

// Where saving the form sends the browser: the token's page, saying it saved, in the same
// language. Built from the (verified) token, never from the path as sent, which could make
// "//host/…" of it.
std::string saved_location(std::string_view token, std::string_view lang);

void get_unsubscribe(const ExchangePtr& x);
void post_one_click(const ExchangePtr& x);
void post_preferences(const ExchangePtr& x);

}  // namespace dispatcher::web
