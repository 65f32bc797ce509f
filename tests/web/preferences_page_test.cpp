// The preference page as HTML: accessible, bilingual, the operator's brand from the view, and
// statements that never contradict each other.
#include "web/preferences_page.hpp"

#include <gtest/gtest.h>

#include "policy/policy.hpp"

namespace dispatcher::web {
namespace {

bool has(const std::string& page, const std::string& what) {
  return page.find(what) != std::string::npos;
}

PreferencesView view() {
  PreferencesView v;
  v.token = "tok.en";
  v.brand = {"さくら予約", "help@sakura.example.jp", {}, {}, {}};
  for (std::string_view p :
       page_purposes(policy::Policy::load(DISPATCHER_SOURCE_DIR "/config/policy.yaml")))
    v.purposes.push_back({std::string(p), p != "advertising"});
  v.channels = {{Channel::email, true, true, false}, {Channel::sms, false, false, false}};
  v.link_purpose = "advertising";
  v.booking_channels = {Channel::email, Channel::sms};
  v.marketing_channels = {Channel::email};
  return v;
}

TEST(PreferencesPage, IsAccessibleBilingualAndShowsState) {
  PreferencesView v = view();
  const std::string ja = render_preferences_page(v);
  EXPECT_TRUE(has(ja, "<html lang=\"ja\">"));
  EXPECT_TRUE(has(ja, "name=\"viewport\""));
  EXPECT_TRUE(has(ja, "<legend>"));
  EXPECT_TRUE(has(ja, "<label for=\"purpose-advertising\">"));
  EXPECT_TRUE(has(ja, "id=\"purpose-advertising\" name=\"purpose\" value=\"advertising\">"))
      << "opted out: unticked";
  EXPECT_TRUE(has(ja, "id=\"purpose-campaign\" name=\"purpose\" value=\"campaign\" checked>"));
  EXPECT_TRUE(has(ja, "id=\"channel-email\" name=\"channel\" value=\"email\" checked>"));
  EXPECT_TRUE(has(ja, "id=\"channel-sms\" name=\"channel\" value=\"sms\">"));
  EXPECT_FALSE(has(ja, "channel-push")) << "only the boxes the view holds";
  EXPECT_TRUE(has(ja, "action=\"/u/tok.en/preferences\""));
  EXPECT_TRUE(has(ja, "href=\"/u/tok.en?lang=en\""));
  EXPECT_TRUE(has(ja, "保存する"));
  EXPECT_TRUE(has(ja, "<span class=\"brand\">さくら予約</span>")) << "the brand is config's";
  EXPECT_TRUE(has(ja, "mailto:help@sakura.example.jp"));
  EXPECT_FALSE(has(ja, "EPARK")) << "no brand written in code";
  EXPECT_TRUE(has(ja, "「メール」だけ")) << "says which channel this link can open";
  v.lang = "en";
  v.saved = true;
  const std::string en = render_preferences_page(v);
  EXPECT_TRUE(has(en, "<html lang=\"en\">"));
  EXPECT_TRUE(has(en, "role=\"status\""));
  EXPECT_TRUE(has(en, "action=\"/u/tok.en/preferences?lang=en\""));
  EXPECT_TRUE(has(en, "日本語"));
  EXPECT_TRUE(has(en, "Booking confirmations and reminders are still sent (E-mail, SMS"));
}

// What the page cannot undo, it says: a clinic the member stopped (its booking messages too),
// and a channel stopped at the address (an SMS STOP reply), with how to lift it.
TEST(PreferencesPage, SaysWhichClinicIsStoppedAndHowToLiftAnAddressStop) {
  PreferencesView v = view();
  v.senders_out = {"さくら歯科"};
  v.channels[1].stopped_at_address = true;  // SMS
  const std::string ja = render_preferences_page(v);
  EXPECT_TRUE(
      has(ja, "）。ただし、さくら歯科からのご連絡は、ご予約に関するものも含めて停止しています。"))
      << ja;
  EXPECT_TRUE(has(ja, "id=\"channel-sms-stopped\""));
  EXPECT_TRUE(has(ja, "START と返信してください"));
  EXPECT_FALSE(has(ja, "channel-email-stopped"));
  v.lang = "en";
  v.channels[1].stopped_at_address = false;
  v.channels[0].stopped_at_address = true;  // e-mail: a complaint
  const std::string en = render_preferences_page(v);
  EXPECT_TRUE(has(en, "Except from さくら歯科: you stopped all of their messages"));
  EXPECT_TRUE(has(en, "id=\"channel-email-stopped\""));
  EXPECT_TRUE(has(en, "contact help@sakura.example.jp"));
}

TEST(PreferencesPage, SaveStaysOnScreenAndTheLinksKindHasOneButton) {
  const std::string page = render_preferences_page(view());
  EXPECT_TRUE(has(page, "<div class=\"savebar\"><button type=\"submit\" id=\"save\">"));
  EXPECT_TRUE(has(page, ".savebar{position:sticky;bottom:0"));
  EXPECT_LT(page.find("stop_link_scope"), page.find("id=\"prefs\""))
      << "the one button comes before the choices";
  EXPECT_TRUE(has(page, "「広告・宣伝のお知らせ」を停止する"));
  PreferencesView out = view();
  out.link_purpose_out = true;
  EXPECT_FALSE(has(render_preferences_page(out), "stop_link_scope"));
  EXPECT_TRUE(has(render_preferences_page(out), "」の配信は停止しています"));
}

TEST(PreferencesPage, StatementsNeverContradictEachOther) {
  PreferencesView v = view();
  v.all_out = v.nothing_sent = true;
  v.booking_channels.clear();
  v.marketing_channels.clear();
  for (const char* lang : {"ja", "en"}) {
    v.lang = lang;
    const std::string page = render_preferences_page(v);
    EXPECT_TRUE(has(page, "id=\"status-all\"")) << lang;
    EXPECT_FALSE(has(page, "引き続きお送りします")) << lang;
    EXPECT_FALSE(has(page, "are still sent")) << lang;
    EXPECT_FALSE(has(page, "are sent whatever you choose")) << lang;
    EXPECT_FALSE(has(page, "この設定にかかわらずお送りします")) << lang;
    EXPECT_TRUE(has(page, "id=\"stop-everything\" name=\"stop_everything\" value=\"1\" checked>"));
  }
  PreferencesView m = view();
  m.marketing_out = true;
  m.marketing_channels.clear();
  const std::string page = render_preferences_page(m);
  EXPECT_TRUE(has(page, "すべて停止しています"));
  EXPECT_TRUE(has(page, "引き続きお送りします"));
  EXPECT_FALSE(has(page, "id=\"status-all\""));
}

TEST(PreferencesPage, ABrokenLinkStillShowsTheOperatorAndHowToReachThem) {
  const std::string page =
      render_message_page("ja", {"さくら予約", "03-1234-5678"}, "無効", "Invalid", "本文", "Body");
  EXPECT_TRUE(has(page, "さくら予約"));
  EXPECT_TRUE(has(page, "03-1234-5678"));
  EXPECT_TRUE(
      has(render_message_page("en", {"B", "help@b.example"}, "無効", "Invalid", "本文", "Body"),
          "mailto:help@b.example"));
}

}  // namespace
}  // namespace dispatcher::web
