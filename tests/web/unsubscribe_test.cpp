// The unsubscribe family's pure parts: RFC 8058's one-click body, the preference form into the
// opt-out changes it asks for (no write for what is unchanged, a consent for coming back), and
// where saving sends the browser.
#include "web/unsubscribe.hpp"

#include <gtest/gtest.h>

namespace dispatcher::web {
namespace {

const std::vector<std::string> offered = {"coupon_info", "survey", "advertising"};
const std::vector<Channel> channels = {Channel::email, Channel::sms, Channel::push};

TEST(OneClick, IsExactlyTheOneFieldOfRfc8058) {
  EXPECT_TRUE(is_one_click("List-Unsubscribe=One-Click"));
  EXPECT_TRUE(is_one_click("List-Unsubscribe=One%2DClick")) << "form-decoded";
  EXPECT_FALSE(is_one_click(""));
  EXPECT_FALSE(is_one_click("List-Unsubscribe=Other"));
  EXPECT_FALSE(is_one_click("List-Unsubscribe=One-Click&x=1"));
  EXPECT_FALSE(is_one_click("List-Unsubscribe=One-Click&List-Unsubscribe=One-Click"));
  EXPECT_FALSE(is_one_click("list-unsubscribe=One-Click"));
  EXPECT_FALSE(is_one_click("List-Unsubscribe=%zz"));
}

PreferencesForm form_of(const std::string& body) {
  auto parsed = parse_preferences_form(body, offered);
  EXPECT_TRUE(std::holds_alternative<PreferencesForm>(parsed)) << body;
  return std::holds_alternative<PreferencesForm>(parsed) ? std::get<PreferencesForm>(parsed)
                                                         : PreferencesForm{};
}

std::string refusal_of(const std::string& body) {
  auto parsed = parse_preferences_form(body, offered);
  return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
}

TEST(PreferencesForm, KeepsOfferedPurposesAndRealChannelsOnly) {
  auto f = form_of("form=prefs-v1&purpose=survey&purpose=coupon_info&channel=email&stop_all=1");
  EXPECT_EQ(f.purposes, (std::set<std::string>{"coupon_info", "survey"}));
  EXPECT_EQ(f.channels, (std::set<std::string>{"email"}));
  EXPECT_TRUE(f.stop_all);
  EXPECT_FALSE(form_of("form=prefs-v1").stop_all);
  EXPECT_EQ(refusal_of("form=prefs-v1&purpose=%zz"), "malformed form");
  EXPECT_EQ(refusal_of("form=prefs-v1&evil=1"), "unexpected field in form");
  EXPECT_EQ(refusal_of("form=prefs-v1&purpose=reservation"), "unexpected field in form")
      << "not a purpose the page offers";
  EXPECT_EQ(refusal_of("form=prefs-v1&channel=fax"), "unexpected field in form");
  EXPECT_EQ(refusal_of("form=prefs-v1&stop_all=yes"), "unexpected field in form");
  EXPECT_EQ(refusal_of("purpose=survey"), "not a preferences form");
  EXPECT_EQ(refusal_of("form=prefs-v2"), "unexpected field in form");
}

redis::Reply state(std::initializer_list<const char*> fields) {
  redis::Reply r;
  r.type = redis::Reply::Type::array;
  for (const char* f : fields) {
    redis::Reply k, v;
    k.type = v.type = redis::Reply::Type::string;
    k.str = f;
    v.str = "{}";
    r.elements.push_back(k);
    r.elements.push_back(v);
  }
  return r;
}

TEST(PreferenceState, ReadsTheOptOutScopesOfTheStateHash) {
  EXPECT_EQ(opted_out_scopes(state({"optout:all", "consent:email", "optout:purpose:survey"})),
            (std::set<std::string>{"all", "purpose:survey"}));
  EXPECT_TRUE(opted_out_scopes(redis::Reply{}).empty());
}

std::vector<std::pair<std::string, bool>> optouts(const PreferenceChanges& c) {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& o : c.optouts) out.emplace_back(o.scope, o.out);
  return out;
}

TEST(PreferenceChanges, WritesOnlyWhatChanges) {
  // Everything ticked, nothing opted out: nothing to write.
  auto all = form_of(
      "form=prefs-v1&purpose=coupon_info&purpose=survey&purpose=advertising"
      "&channel=email&channel=sms&channel=push");
  EXPECT_TRUE(preference_changes(all, {}, offered, channels).optouts.empty());
  EXPECT_TRUE(preference_changes(all, {}, offered, channels).consents.empty());
  // Unticking a purpose and a channel: those two, in the page's order.
  auto some = form_of(
      "form=prefs-v1&purpose=coupon_info&purpose=survey&channel=email"
      "&channel=push");
  EXPECT_EQ(optouts(preference_changes(some, {}, offered, channels)),
            (std::vector<std::pair<std::string, bool>>{{"purpose:advertising", true},
                                                       {"channel:sms", true}}));
  // Saving the same again changes nothing.
  EXPECT_TRUE(preference_changes(some, {"purpose:advertising", "channel:sms"}, offered, channels)
                  .optouts.empty());
  // Stop everything.
  auto stop = preference_changes(form_of("form=prefs-v1&stop_all=1"), {}, offered, channels);
  EXPECT_EQ(stop.optouts.back().scope, "all");
  EXPECT_TRUE(stop.optouts.back().out);
  EXPECT_TRUE(stop.consents.empty());
}

TEST(PreferenceChanges, ComingBackToMarketingRecordsAConsentPerTickedChannel) {
  auto back = form_of("form=prefs-v1&purpose=advertising&channel=email&channel=push");
  auto c = preference_changes(back, {"purpose:advertising"}, offered, channels);
  EXPECT_EQ(c.consents, (std::vector<Channel>{Channel::email, Channel::push}));
  auto from_all = preference_changes(back, {"all"}, offered, channels);
  EXPECT_EQ(optouts(from_all).back(), (std::pair<std::string, bool>{"all", false}));
  EXPECT_EQ(from_all.consents.size(), 2u) << "leaving stop-all is coming back too";
  EXPECT_TRUE(preference_changes(back, {}, offered, channels).consents.empty())
      << "never opted out: no new consent";
  auto still_stopped = form_of("form=prefs-v1&purpose=advertising&channel=email&stop_all=1");
  EXPECT_TRUE(preference_changes(still_stopped, {"purpose:advertising"}, offered, channels)
                  .consents.empty());
}

TEST(PreferenceChanges, AChannelWithoutABoxKeepsItsState) {
  // A member without a LINE id gets no LINE box: saving the page must not opt them out of (or
  // back into) LINE.
  auto f = form_of(
      "form=prefs-v1&purpose=coupon_info&purpose=survey&purpose=advertising"
      "&channel=email&channel=sms&channel=push&channel=line");
  EXPECT_TRUE(preference_changes(f, {"channel:line"}, offered, channels).optouts.empty());
  auto with_line = channels;
  with_line.push_back(Channel::line);
  EXPECT_EQ(optouts(preference_changes(f, {"channel:line"}, offered, with_line)),
            (std::vector<std::pair<std::string, bool>>{{"channel:line", false}}));
  auto unticked = form_of(
      "form=prefs-v1&purpose=coupon_info&purpose=survey&purpose=advertising"
      "&channel=email&channel=sms&channel=push");
  EXPECT_TRUE(preference_changes(unticked, {}, offered, channels).optouts.empty());
  EXPECT_EQ(optouts(preference_changes(unticked, {}, offered, with_line)),
            (std::vector<std::pair<std::string, bool>>{{"channel:line", true}}));
}

TEST(PreferenceChanges, BecomeOptOutAndConsentCommands) {
  const Keys k;
  const SubjectRef subject{"m-1", {}};
  const TimePoint now = parse_rfc3339("2026-11-30T10:00:00+09:00").value();
  EXPECT_TRUE(preference_commands(k, subject, {}, now).empty());
  PreferenceChanges c{{{"purpose:survey", true}}, {Channel::email}};
  auto cmds = preference_commands(k, subject, c, now);
  auto optout_only = optout_commands(k, subject, "purpose:survey", true, "unsubscribe-page", now);
  ASSERT_GT(cmds.size(), optout_only.size()) << "the consent's commands follow";
  for (std::size_t i = 0; i < optout_only.size(); ++i) EXPECT_EQ(cmds[i].argv, optout_only[i].argv);
}

TEST(Unsubscribe, SubjectKeysAndTheSavedPage) {
  EXPECT_EQ(subject_from_key("m-1").key, "m-1");
  EXPECT_EQ(subject_from_key("m-1").address_hash, "");
  EXPECT_EQ(subject_from_key("contact:ab12").address_hash, "ab12");
  EXPECT_EQ(saved_location("tok.en", "ja"), "/u/tok.en?saved=1");
  EXPECT_EQ(saved_location("tok.en", "en"), "/u/tok.en?saved=1&lang=en");
}

}  // namespace
}  // namespace dispatcher::web
