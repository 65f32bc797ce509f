// GET /u/{token} (the preference page), POST /u/{token} (RFC 8058 one-click) and POST
// /u/{token}/preferences (the page's forms): the pure parts — the one-click body check, what the
// page shows for a subject's state, the form into the opt-out changes it asks for — beside the
// three thin handlers (unsubscribe.cpp). What the page's controls mean is POLICY.md's ("Opt-out
// scopes"); the HTML is preferences_page.hpp.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/clock.hpp"
#include "config/vocabulary.hpp"
#include "model/keys.hpp"
#include "model/message.hpp"
#include "model/unsubscribe_token.hpp"
#include "policy/policy.hpp"
#include "store/redis/reply.hpp"
#include "store/subject_requests.hpp"
#include "store/subject_store.hpp"
#include "web/preferences_page.hpp"
#include "web/router.hpp"

namespace dispatcher::web {

// RFC 8058: the body of a one-click POST is exactly the one field List-Unsubscribe=One-Click.
bool is_one_click(std::string_view body);

// What the preference form asks for (POLICY.md "Opt-out scopes"): the purposes and channels left
// ticked, "stop all advertising" (marketing), "stop everything, booking messages too" (all); or
// the one button at the top that stops the link's own kind of message (nothing else is read).
struct PreferencesForm {
  std::set<std::string> purposes;  // only purposes the page offers
  std::set<std::string> channels;  // only channels there are
  bool stop_marketing = false;
  bool stop_everything = false;
  bool stop_link_scope = false;
};
// The form body (form=prefs-v2 & purpose=… & channel=… & stop_marketing=1 & stop_everything=1,
// or form=prefs-v2 & stop_link_scope=1), or why it is refused: "malformed form", "unexpected
// field in form" or "not a preferences form" (a page older than this form, too).
std::variant<PreferencesForm, std::string> parse_preferences_form(
    std::string_view body, const std::vector<std::string>& offered_purposes);

// The scopes a subject is opted out of, from HGETALL state:<subject> (its optout:<scope> fields).
std::set<std::string> opted_out_scopes(const redis::Reply& state);

// What the page knows about the person behind a link, read as the policy gate reads it.
struct PreferenceState {
  // The stored record; for a contact known only by its address hash (contact:<hash>), a
  // non-member reachable on the link's channel alone.
  Subscriber recipient;
  AddressHashes hashes;        // where address-level state (STOP replies, bounces) is read
  policy::SubjectState state;  // subject_store's parse_state(), as the gate folds it
  std::set<std::string> own;   // the opt-outs in state:<subject>, the ones the page can withdraw
  std::optional<Channel> link_channel;  // the token's: the one channel a tick may open
  std::string link_scope;               // the token's: what the one button stops
};
// The recipient and hashes for `subject` from HGETALL sub:<subject>; state and own are filled
// later from the replies of state_commands(k, subject.key, hashes, …).
PreferenceState preference_subject(const SubjectRef& subject, const redis::Reply& subscriber_hash,
                                   const TokenClaims& claims);

// What the page shows for that state: every box and statement from the policy's own rules
// (Policy::channel_refusal), so that what it says is what `explain` decides.
PreferencesView preferences_view(const policy::Policy& p, const PreferenceState& s,
                                 const std::vector<std::string>& purposes);

struct OptOutChange {
  std::string scope;  // all, marketing, purpose:<p>, marketing:channel:<c>, channel:<c>
  bool out = false;
};
struct PreferenceChanges {
  std::vector<OptOutChange> optouts;  // only scopes whose state changes: no write, no audit noise
  // A tick on the link's own channel where the law asks for an opt-in (特定電子メール法):
  // recorded with its proof (the page's wording version). Never for another channel.
  std::vector<Channel> consents;
};
// What saving `form` changes, given what the page showed (`shown`, from preferences_view()).
// A stop chosen writes that stop alone; otherwise each purpose box is its purpose:<p>, and each
// channel box is marketing:channel:<c>, where a tick opens only the link's channel — ticking
// another cannot opt in, and a save that withdraws `marketing` or `all` closes every other
// channel that was not already open, so no channel opens from a link sent elsewhere.
PreferenceChanges preference_changes(const PreferencesForm& form, const PreferencesView& shown,
                                     const PreferenceState& s, const policy::Policy& p);
SubjectChange preference_change(const Keys& k, const SubjectRef& subject,
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
