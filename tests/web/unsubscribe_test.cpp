// The unsubscribe family: RFC 8058's one-click body, the preference form's scopes (POLICY.md
// "Opt-out scopes": boxes write marketing:…, only a separate choice stops reminders), what the
// page shows for a state, where saving sends the browser — and, against a real redis through
// `dispatcher serve`, that what a save writes is what `explain` then decides.
#include "web/unsubscribe.hpp"

#include <gtest/gtest.h>

#include "web/web_env.hpp"

namespace dispatcher::web {
namespace {

using nlohmann::json;

const std::vector<std::string> offered = {"coupon_info", "survey", "advertising"};

const policy::Policy& shipped_policy() {
  static const auto p = policy::Policy::load(DISPATCHER_SOURCE_DIR "/config/policy.yaml");
  return p;
}

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

TEST(PreferencesForm, KeepsOfferedPurposesRealChannelsAndTheTwoStops) {
  auto f = form_of(
      "form=prefs-v2&purpose=survey&purpose=coupon_info&channel=email&stop_marketing=1"
      "&stop_everything=1");
  EXPECT_EQ(f.purposes, (std::set<std::string>{"coupon_info", "survey"}));
  EXPECT_EQ(f.channels, (std::set<std::string>{"email"}));
  EXPECT_TRUE(f.stop_marketing);
  EXPECT_TRUE(f.stop_everything);
  EXPECT_FALSE(f.stop_link_scope);
  EXPECT_TRUE(form_of("form=prefs-v2&stop_link_scope=1").stop_link_scope);
  EXPECT_FALSE(form_of("form=prefs-v2").stop_marketing);
  EXPECT_EQ(refusal_of("form=prefs-v2&purpose=%zz"), "malformed form");
  EXPECT_EQ(refusal_of("form=prefs-v2&evil=1"), "unexpected field in form");
  EXPECT_EQ(refusal_of("form=prefs-v2&purpose=reservation"), "unexpected field in form")
      << "not a purpose the page offers";
  EXPECT_EQ(refusal_of("form=prefs-v2&channel=fax"), "unexpected field in form");
  EXPECT_EQ(refusal_of("form=prefs-v2&stop_marketing=yes"), "unexpected field in form");
  EXPECT_EQ(refusal_of("form=prefs-v2&stop_all=1"), "unexpected field in form")
      << "the old page's ambiguous stop";
  EXPECT_EQ(refusal_of("purpose=survey"), "not a preferences form");
  EXPECT_EQ(refusal_of("form=prefs-v1"), "unexpected field in form") << "a page older than this";
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

// A member reached by e-mail and SMS (no push, no LINE), consented to e-mail only, whose link
// came by e-mail.
PreferenceState member(std::vector<std::string> optouts = {}, bool email_consent = true) {
  PreferenceState s;
  s.recipient.id = "m-1";
  s.recipient.member = true;
  s.recipient.contact.email = "taro@example.jp";
  s.recipient.contact.phone = "+819012345678";
  s.state.optouts = optouts;
  s.own = {optouts.begin(), optouts.end()};
  s.state.consent[index(Channel::email)] = email_consent;
  s.link_channel = Channel::email;
  s.link_scope = "purpose:advertising";
  return s;
}

const ChannelBox* box(const PreferencesView& v, Channel c) {
  for (const auto& b : v.channels)
    if (b.channel == c) return &b;
  return nullptr;
}

TEST(PreferencesView, TicksABoxOnlyWhereAMessageOfThatKindWouldGoOut) {
  const auto v = preferences_view(shipped_policy(), member(), offered);
  ASSERT_EQ(v.channels.size(), 2u) << "a box per channel the member can be reached on";
  EXPECT_TRUE(box(v, Channel::email)->ticked);
  EXPECT_TRUE(box(v, Channel::email)->can_resume) << "the link's channel";
  EXPECT_FALSE(box(v, Channel::sms)->ticked) << "no SMS consent recorded: no marketing SMS";
  EXPECT_FALSE(box(v, Channel::sms)->can_resume);
  EXPECT_EQ(box(v, Channel::push), nullptr) << "no push token: no push box";
  EXPECT_EQ(v.marketing_channels, (std::vector<Channel>{Channel::email}));
  EXPECT_EQ(v.booking_channels, (std::vector<Channel>{Channel::email, Channel::sms}))
      << "reminders need no consent";
  EXPECT_EQ(v.link_purpose, "advertising");
  for (const auto& p : v.purposes) EXPECT_TRUE(p.ticked) << p.purpose;

  const auto no_consent = preferences_view(shipped_policy(), member({}, false), offered);
  EXPECT_FALSE(box(no_consent, Channel::email)->ticked);
  EXPECT_TRUE(no_consent.marketing_channels.empty());

  const auto email_out =
      preferences_view(shipped_policy(), member({"marketing:channel:email"}), offered);
  EXPECT_FALSE(box(email_out, Channel::email)->ticked);
  EXPECT_TRUE(email_out.marketing_channels.empty());
  EXPECT_EQ(email_out.booking_channels.front(), Channel::email) << "marketing only";

  const auto stopped = preferences_view(shipped_policy(), member({"marketing"}), offered);
  EXPECT_TRUE(stopped.marketing_out);
  EXPECT_FALSE(stopped.nothing_sent);
  EXPECT_FALSE(box(stopped, Channel::email)->ticked) << "nothing of that kind goes out";
  EXPECT_FALSE(stopped.purposes.front().ticked);
  EXPECT_EQ(stopped.booking_channels.size(), 2u);

  const auto all = preferences_view(shipped_policy(), member({"all"}), offered);
  EXPECT_TRUE(all.all_out);
  EXPECT_TRUE(all.nothing_sent);
  EXPECT_TRUE(all.booking_channels.empty());
  EXPECT_TRUE(all.marketing_channels.empty());

  auto with_push = member();
  with_push.recipient.contact.push = {{"fcm", "tok"}};
  EXPECT_TRUE(box(preferences_view(shipped_policy(), with_push, offered), Channel::push)->ticked)
      << "push needs no consent (POLICY.md rule 10)";
}

TEST(PreferencesView, NamesStoppedSendersAndChannelsStoppedAtTheAddress) {
  auto s = member({"sender:clinic:c-102", "sender:operator"});
  const auto v = preferences_view(shipped_policy(), s, offered);
  EXPECT_EQ(v.senders_out, (std::vector<std::string>{"clinic:c-102"}))
      << "the operator's own stop is booking_stopped, not a clinic";
  EXPECT_FALSE(box(v, Channel::sms)->stopped_at_address);
  // An SMS STOP reply: held at the phone number's key, not in the subject's own state.
  auto stop = member();
  stop.state.optouts.push_back("channel:sms");
  const auto stopped = preferences_view(shipped_policy(), stop, offered);
  EXPECT_TRUE(box(stopped, Channel::sms)->stopped_at_address);
  EXPECT_FALSE(box(stopped, Channel::email)->stopped_at_address);
  // The same scope set by the page itself can be lifted there: no note.
  const auto own = preferences_view(shipped_policy(), member({"channel:sms"}), offered);
  EXPECT_FALSE(box(own, Channel::sms)->stopped_at_address);
}

TEST(PreferencesView, ShowsALineBoxOnlyToAMemberWithALineId) {
  EXPECT_EQ(box(preferences_view(shipped_policy(), member(), offered), Channel::line), nullptr);
  auto with_line = member();
  with_line.recipient.contact.line = "U4af4980629a1b2c3d4e5f60718293a4b";
  const auto v = preferences_view(shipped_policy(), with_line, offered);
  ASSERT_NE(box(v, Channel::line), nullptr);
  EXPECT_TRUE(box(v, Channel::line)->ticked) << "LINE needs no recorded consent (POLICY.md)";
  with_line.state.optouts = {"channel:line"};  // an unfollow
  EXPECT_FALSE(box(preferences_view(shipped_policy(), with_line, offered), Channel::line)->ticked);
}

std::vector<std::pair<std::string, bool>> optouts(const PreferenceChanges& c) {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& o : c.optouts) out.emplace_back(o.scope, o.out);
  return out;
}
using Changes = std::vector<std::pair<std::string, bool>>;

PreferenceChanges save(const PreferenceState& s, const std::string& body) {
  const auto shown = preferences_view(shipped_policy(), s, offered);
  return preference_changes(form_of(body), shown, s, shipped_policy());
}

const std::string all_purposes =
    "form=prefs-v2&purpose=coupon_info&purpose=survey&purpose=advertising";

TEST(PreferenceChanges, ChannelBoxesWriteMarketingOnThatChannelOnly) {
  EXPECT_TRUE(save(member(), all_purposes + "&channel=email").optouts.empty())
      << "as shown: nothing to write";
  EXPECT_EQ(optouts(save(member(), all_purposes)), (Changes{{"marketing:channel:email", true}}))
      << "unticking e-mail stops marketing by e-mail, not reminders (never channel:email)";
  EXPECT_TRUE(save(member({"marketing:channel:email"}), all_purposes).optouts.empty())
      << "saving the same again changes nothing";
  EXPECT_EQ(optouts(save(member(), "form=prefs-v2&purpose=survey&channel=email")),
            (Changes{{"purpose:coupon_info", true}, {"purpose:advertising", true}}));
}

TEST(PreferenceChanges, AChannelWithoutABoxKeepsItsState) {
  // No LINE id, no LINE box: a posted channel=line (or its absence) changes nothing on LINE.
  EXPECT_TRUE(
      save(member({"channel:line"}), all_purposes + "&channel=email&channel=line").optouts.empty());
  auto s = member();
  s.state.optouts = {"marketing:channel:line"};
  EXPECT_TRUE(save(s, all_purposes + "&channel=email").optouts.empty());
}

TEST(PreferenceChanges, ATickOpensOnlyTheChannelTheLinkCameBy) {
  // Ticking SMS from an e-mail link: no consent, no write.
  auto c = save(member(), all_purposes + "&channel=email&channel=sms");
  EXPECT_TRUE(c.consents.empty());
  EXPECT_TRUE(c.optouts.empty());
  // Ticking e-mail, the link's channel, without a consent: a consent for e-mail.
  auto e = save(member({}, false), all_purposes + "&channel=email");
  EXPECT_EQ(e.consents, (std::vector<Channel>{Channel::email}));
  // … and back after unticking it: the opt-out goes, no second consent.
  auto back = save(member({"marketing:channel:email"}), all_purposes + "&channel=email");
  EXPECT_EQ(optouts(back), (Changes{{"marketing:channel:email", false}}));
  EXPECT_TRUE(back.consents.empty());
  // An SMS link may open SMS, and never e-mail.
  auto by_sms = member({"marketing:channel:email"}, false);
  by_sms.link_channel = Channel::sms;
  auto s = save(by_sms, all_purposes + "&channel=email&channel=sms");
  EXPECT_EQ(s.consents, (std::vector<Channel>{Channel::sms}));
  EXPECT_TRUE(s.optouts.empty()) << "e-mail stays out";
  // A link without a channel (made before links carried one) opens nothing.
  auto old = member({}, false);
  old.link_channel.reset();
  EXPECT_TRUE(save(old, all_purposes + "&channel=email&channel=sms").consents.empty());
}

TEST(PreferenceChanges, WithdrawingAStopOpensNoOtherChannel) {
  // Push was open; marketing is stopped; from an e-mail link the member un-stops and ticks
  // e-mail and push. E-mail opens; push, shown unticked, stays closed.
  auto s = member({"marketing"});
  s.recipient.contact.push = {{"fcm", "tok"}};
  EXPECT_EQ(optouts(save(s, all_purposes + "&channel=email&channel=push")),
            (Changes{{"marketing", false}, {"marketing:channel:push", true}}));
}

TEST(PreferenceChanges, StopAllAdvertisingIsMarketingAndTheSeparateChoiceIsAll) {
  EXPECT_EQ(optouts(save(member(), all_purposes + "&channel=email&stop_marketing=1")),
            (Changes{{"marketing", true}}))
      << "a stop is the whole answer: no box is read beside it";
  EXPECT_EQ(
      optouts(save(member({"marketing"}), "form=prefs-v2&stop_marketing=1&stop_everything=1")),
      (Changes{{"all", true}}));
  EXPECT_EQ(optouts(save(member({"all"}), "form=prefs-v2&stop_marketing=1")),
            (Changes{{"all", false}, {"marketing", true}}));
  EXPECT_EQ(optouts(save(member(), "form=prefs-v2&stop_link_scope=1&purpose=survey")),
            (Changes{{"purpose:advertising", true}}))
      << "the one button at the top stops the link's own kind only";
  // An address-level opt-out (an SMS STOP) is not the page's to withdraw.
  auto stopped_number = member();
  stopped_number.state.optouts.push_back("all");
  EXPECT_TRUE(save(stopped_number, all_purposes + "&channel=email").optouts.empty());
}

TEST(PreferenceChanges, BecomeOptOutAndConsentCommandsWithThePagesWording) {
  const Keys k;
  const SubjectRef subject{"m-1", {}};
  const TimePoint now = parse_rfc3339("2026-11-30T10:00:00+09:00").value();
  auto nothing = preference_change(k, subject, {}, now);
  EXPECT_TRUE(nothing.redis.empty() && nothing.audit.empty());
  PreferenceChanges c{{{"marketing:channel:email", true}}, {Channel::email}};
  auto change = preference_change(k, subject, c, now);
  auto optout_only =
      optout_change(k, subject, "marketing:channel:email", true, "unsubscribe-page", now);
  ASSERT_GT(change.redis.size(), optout_only.redis.size()) << "the consent's commands follow";
  for (std::size_t i = 0; i < optout_only.redis.size(); ++i)
    EXPECT_EQ(change.redis[i].argv, optout_only.redis[i].argv);
  EXPECT_NE(change.redis[optout_only.redis.size()].argv.back().find(kPreferencesWording),
            std::string::npos);
  ASSERT_EQ(change.audit.size(), 2u) << "the opt-out, then the consent with its proof";
  EXPECT_EQ(change.audit[1].event, "consent");
  EXPECT_EQ(change.audit[1].extra["wording"], kPreferencesWording);
}

TEST(Unsubscribe, SubjectKeysAndTheSavedPage) {
  EXPECT_EQ(subject_from_key("m-1").key, "m-1");
  EXPECT_EQ(subject_from_key("m-1").address_hash, "");
  EXPECT_EQ(subject_from_key("contact:ab12").address_hash, "ab12");
  EXPECT_EQ(saved_location("tok.en", "ja"), "/u/tok.en?saved=1");
  EXPECT_EQ(saved_location("tok.en", "en"), "/u/tok.en?saved=1&lang=en");
}

TEST(Unsubscribe, AContactKnownByItsAddressIsReachableOnTheLinksChannel) {
  TokenClaims claims;
  claims.scope = "purpose:product_notice";
  claims.channel = Channel::sms;
  auto s = preference_subject(subject_from_key("contact:ab12"), redis::Reply{}, claims);
  EXPECT_FALSE(s.recipient.member);
  EXPECT_TRUE(s.recipient.contact.has(Channel::sms));
  EXPECT_FALSE(s.recipient.contact.has(Channel::email));
  EXPECT_EQ(s.hashes.phone, "ab12") << "its address-level state is read";
}

// ---- against a real redis, through `dispatcher serve` and `dispatcher explain` ----

json reminder_by_email(const std::string& id) {
  return {{"id", id},
          {"sender", "clinic:c-102"},
          {"purpose", "reservation"},
          {"to", {{"subscriber", "m-1"}}},
          {"channels", {"email"}},
          {"template", "reservation.reminder"},
          {"data",
           {{"name", "山田"},
            {"clinic_name", "さくら歯科"},
            {"starts_at", "12月1日 10:00"},
            {"clinic_phone", "03-1234-5678"},
            {"reservation_url", "https://example.jp/r"}}}};
}

json ad(const std::string& id, const std::string& channel) {
  return {{"id", id},
          {"sender", "operator"},
          {"purpose", "advertising"},
          {"to", {{"subscriber", "m-1"}}},
          {"channels", {channel}},
          {"template", "advertising.newsletter"},
          {"data",
           {{"name", "山田"},
            {"headline", "冬のキャンペーン"},
            {"summary", "ホワイトニングのご案内"},
            {"article_url", "https://example.jp/a"}}}};
}

// A member with e-mail and a phone who consented to e-mail only, and the page of an e-mail link.
struct EmailLink {
  web_testing::WebEnv env;
  std::string token;
  EmailLink() {
    EXPECT_EQ(env.run({"subscriber", "put", "-"},
                      R"({"id":"m-1","member":true,"clinics":["c-102"],"email":"taro@example.jp",)"
                      R"("phone":"+819012345678","locale":"ja"})"
                      "\n")
                  .exit_code,
              0);
    EXPECT_EQ(env.run({"consent", "m-1", "email", "--source", "signup_form"}).exit_code, 0);
    token = env.token_for("m-1", "purpose:advertising", 3600, Channel::email);
  }
  int save(const std::string& body) {
    return env.post_form("/u/" + token + "/preferences", body).status;
  }
  std::string page() { return env.get("/u/" + token).body; }
};

std::string every_purpose() {
  std::string body = "form=prefs-v2";
  for (const auto& p : page_purposes(shipped_policy())) body += "&purpose=" + p;
  return body;
}

TEST(UnsubscribePage, BoxesAreUntickedWithoutAConsentAndTheFormHasItsScopes) {
  EmailLink l;
  const std::string page = l.page();
  EXPECT_NE(page.find(R"(id="channel-email" name="channel" value="email" checked>)"),
            std::string::npos);
  EXPECT_NE(page.find(R"(id="channel-sms" name="channel" value="sms">)"), std::string::npos)
      << "no SMS consent: unticked";
  EXPECT_EQ(page.find("channel-push"), std::string::npos) << "no push token, no box";
  EXPECT_NE(page.find(R"(name="stop_marketing" value="1">)"), std::string::npos);
  EXPECT_NE(page.find(R"(name="stop_everything" value="1">)"), std::string::npos);
  EXPECT_NE(page.find(R"(name="stop_link_scope" value="1")"), std::string::npos)
      << "the link's own kind: one button";
  EXPECT_NE(page.find("EPARK歯科"), std::string::npos) << "the operator's name, from config";
  EXPECT_NE(page.find("support@notify.example.jp"), std::string::npos);
}

TEST(UnsubscribePage, TickingSmsFromAnEmailLinkRecordsNoSmsConsent) {
  EmailLink l;
  ASSERT_EQ(l.save(every_purpose() + "&channel=email&channel=sms"), 303);
  EXPECT_EQ(l.env.state_field("m-1", "consent:sms"), "");
  auto d = l.env.explain(ad("ad-sms", "sms"));
  EXPECT_EQ(d["decision"], "deny") << d;
  EXPECT_EQ(d["reason"], "no_consent:sms") << d;
  EXPECT_NE(l.page().find(R"(id="channel-sms" name="channel" value="sms">)"), std::string::npos)
      << "still unticked, as explain says";
}

TEST(UnsubscribePage, UntickingEmailStopsMarketingByEmailAndNotReminders) {
  EmailLink l;
  ASSERT_EQ(l.save(every_purpose()), 303);
  EXPECT_NE(l.env.state_field("m-1", "optout:marketing:channel:email"), "");
  EXPECT_EQ(l.env.state_field("m-1", "optout:channel:email"), "");
  auto r = l.env.explain(reminder_by_email("rsv-1"));
  EXPECT_EQ(r["decision"], "send") << r;
  EXPECT_EQ(r["channel"], "email") << r;
  auto a = l.env.explain(ad("ad-1", "email"));
  EXPECT_EQ(a["reason"], "opted_out:marketing:channel:email") << a;
  const std::string page = l.page();
  EXPECT_NE(page.find("ご予約に必要なご連絡は引き続きお送りします（メール、SMS"),
            std::string::npos);
  EXPECT_NE(page.find("現在どの方法でもお送りしていません"), std::string::npos);
  // Stop all advertising: reminders still go; stop everything: they do not, and the page no
  // longer says they do.
  ASSERT_EQ(l.save("form=prefs-v2&stop_marketing=1"), 303);
  EXPECT_EQ(l.env.explain(reminder_by_email("rsv-2"))["decision"], "send");
  EXPECT_EQ(l.env.explain(ad("ad-2", "email"))["reason"], "opted_out:marketing");
  ASSERT_EQ(l.save("form=prefs-v2&stop_marketing=1&stop_everything=1"), 303);
  EXPECT_EQ(l.env.explain(reminder_by_email("rsv-3"))["reason"], "opted_out:all");
  const std::string stopped = l.page();
  EXPECT_EQ(stopped.find("引き続きお送りします"), std::string::npos);
  EXPECT_NE(stopped.find("予約の日時などのお知らせが届かない"), std::string::npos);
}

TEST(UnsubscribePage, AnExpiredLinkStillSaysWhomToAsk) {
  EmailLink l;
  auto gone = l.env.get("/u/" + l.env.token_for("m-1", "purpose:advertising", -2 * 86400));
  EXPECT_EQ(gone.status, 404);
  EXPECT_NE(gone.body.find("EPARK歯科"), std::string::npos);
  EXPECT_NE(gone.body.find("mailto:support@notify.example.jp"), std::string::npos);
}

}  // namespace
}  // namespace dispatcher::web
