#include "templates/catalog.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "templates/sms_count.hpp"

namespace dispatcher::templates {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// POLICY.md: the purposes, the categories, and which purposes are marketing.
const std::set<std::string, std::less<>> policy_purposes{
    "reservation", "coupon_info",    "auth",          "support", "survey",
    "campaign",    "recommendation", "points",        "payment", "advertising",
    "maintenance", "reward_payout",  "product_notice"};
const std::set<std::string, std::less<>> policy_categories{
    "member_profile", "usage_history",     "behavior_history", "bank_account",
    "questionnaire",  "nonmember_contact", "sensitive"};
const std::set<std::string, std::less<>> marketing_purposes{
    "advertising",    "campaign", "recommendation", "coupon_info",
    "product_notice", "points",   "survey"};

// POLICY.md's table: the categories each purpose permits (contact categories included).
const std::map<std::string, std::set<std::string>> permitted{
    {"reservation", {"member_profile", "usage_history", "nonmember_contact", "sensitive"}},
    {"coupon_info", {"member_profile", "usage_history"}},
    {"auth", {"member_profile"}},
    {"support", {"member_profile", "usage_history", "sensitive"}},
    {"survey", {"member_profile"}},
    {"campaign", {"member_profile"}},
    {"recommendation", {"member_profile", "usage_history", "behavior_history"}},
    {"points", {"member_profile"}},
    {"payment", {"member_profile"}},
    {"advertising", {"member_profile"}},
    {"maintenance", {"member_profile"}},
    {"reward_payout", {"member_profile", "bank_account"}},
    {"product_notice", {"nonmember_contact"}},
};

const std::map<std::string, std::string> shipped{
    {"reservation.reminder", "reservation"},
    {"reservation.confirmed", "reservation"},
    {"reservation.cancelled", "reservation"},
    {"advertising.newsletter", "advertising"},
    {"campaign.announcement", "campaign"},
    {"survey.invitation", "survey"},
    {"recommendation.services", "recommendation"},
    {"coupon.issued", "coupon_info"},
    {"product_notice.item", "product_notice"},
    {"support.reply", "support"},
    {"auth.code", "auth"},
    {"payment.receipt", "payment"},
    {"points.earned", "points"},
    {"reward.payout", "reward_payout"},
    {"maintenance.notice", "maintenance"},
};

LoadOptions policy_options() {
  LoadOptions o;
  o.is_marketing = [](std::string_view p) { return marketing_purposes.contains(p); };
  o.known_purpose = [](std::string_view p) { return policy_purposes.contains(p); };
  o.known_category = [](std::string_view c) { return policy_categories.contains(c); };
  return o;
}

const Catalog& shipped_catalog() {
  static const Catalog catalog =
      Catalog::load(DISPATCHER_SOURCE_DIR "/templates", policy_options());
  return catalog;
}

// Typical message data: every variable the shipped templates use.
json typical_data(std::string_view locale) {
  const bool ja = locale == "ja";
  return json{
      {"name", ja ? "山田 花子" : "Hanako Yamada"},
      {"clinic_name", ja ? "さくら歯科クリニック" : "Sakura Dental Clinic"},
      {"starts_at", ja ? "12月1日(火) 10:00" : "Tue 1 Dec 10:00"},
      {"clinic_phone", "03-1234-5678"},
      {"reservation_url", "https://d.example.jp/r/Ab3xYz"},
      {"booking_url", "https://d.example.jp/c/102"},
      {"menu", ja ? "定期検診・クリーニング" : "Check-up and cleaning"},
      {"clinic_address",
       ja ? "東京都渋谷区神南1-2-3 さくらビル2階" : "1-2-3 Jinnan, Shibuya, Tokyo"},
      {"headline", ja ? "歯周病を防ぐ毎日のケア" : "Daily care against gum disease"},
      {"summary", ja ? "歯周病は自覚症状が少ない病気です。\n毎日のケアのポイントをご紹介します。"
                     : "Gum disease often goes unnoticed.\nHere is how to prevent it."},
      {"article_url", "https://d.example.jp/n/2612"},
      {"campaign_title", ja ? "冬のホワイトニングキャンペーン" : "Winter whitening campaign"},
      {"period", ja ? "12月1日〜12月31日" : "1-31 Dec"},
      {"details", ja ? "期間中、ホワイトニングが20%オフになります。"
                     : "20% off whitening during the campaign."},
      {"campaign_url", "https://d.example.jp/cp/w26"},
      {"survey_title", ja ? "歯科医院選びに関するアンケート" : "How you choose a dentist"},
      {"deadline", ja ? "12月15日" : "15 Dec"},
      {"minutes", 5},
      {"reward", ja ? "EPARKポイント100pt" : "100 EPARK points"},
      {"survey_url", "https://d.example.jp/s/q12"},
      {"last_visit", ja ? "6月10日" : "10 Jun"},
      {"service_name", ja ? "歯のクリーニング（PMTC）" : "Professional cleaning (PMTC)"},
      {"service_description",
       ja ? "専用の機器で歯の汚れを落とします。" : "Plaque removal with dedicated tools."},
      {"service_url", "https://d.example.jp/sv/pmtc"},
      {"coupon_title", ja ? "初診料10%オフクーポン" : "10% off your first visit"},
      {"coupon_code", "WINTER10"},
      {"expires_on", ja ? "12月31日" : "31 Dec"},
      {"coupon_url", "https://d.example.jp/cp/c10"},
      {"item_name", ja ? "電動歯ブラシ" : "Electric toothbrush"},
      {"item_description",
       ja ? "当院おすすめの電動歯ブラシです。" : "The toothbrush we recommend."},
      {"item_url", "https://d.example.jp/i/77"},
      {"inquiry_id", "Q-20261130-0042"},
      {"reply_text",
       ja ? "お問い合わせの件、予約の変更を承りました。\nご不明な点はお知らせください。"
          : "We have changed your booking as asked.\nLet us know if anything is unclear."},
      {"support_url", "https://d.example.jp/h/q42"},
      {"code", "482913"},
      {"expires_minutes", 10},
      {"amount", 3300},
      {"paid_at", ja ? "11月30日 14:05" : "30 Nov 14:05"},
      {"description", ja ? "EPARKプレミアム 月額料金" : "EPARK Premium, monthly"},
      {"receipt_no", "R-000123"},
      {"receipt_url", "https://d.example.jp/rc/123"},
      {"points", 100},
      {"balance", 1250},
      {"points_url", "https://d.example.jp/pt"},
      {"reason", ja ? "アンケート回答" : "answering a survey"},
      {"bank_name", ja ? "みずほ銀行 渋谷支店" : "Mizuho Bank, Shibuya"},
      {"account_last4", "1234"},
      {"paid_on", ja ? "12月10日" : "10 Dec"},
      {"window_start", ja ? "12月5日(土) 2:00" : "Sat 5 Dec 2:00"},
      {"window_end", ja ? "12月5日(土) 5:00" : "Sat 5 Dec 5:00"},
      {"affected", ja ? "ご予約の受付を停止します" : "Online booking is unavailable"},
  };
}

json typical_injected(std::string_view locale) {
  return json{{"sender_name", locale == "ja" ? "EPARK歯科" : "EPARK Dental"},
              {"sender_contact", "0120-123-456"},
              {"unsubscribe_url", "https://d.example.jp/u/Xk29fPq8Lm3n"},
              {"message_id", "msg-1"}};
}

// A scratch folder of templates, removed at the end of the test.
class TempTemplates {
 public:
  TempTemplates() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::temp_directory_path() /
            ("dispatcher-templates-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  ~TempTemplates() { fs::remove_all(root_); }

  void write(const std::string& relative, std::string_view content) {
    fs::path p = root_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
  }
  // A valid non-marketing template with an SMS part.
  void sms_template(
      const std::string& locale, const std::string& name, std::string_view sms,
      std::string_view meta = "purpose: reservation\nvariables:\n  name: member_profile\n") {
    write(locale + "/" + name + "/meta.yaml", meta);
    write(locale + "/" + name + "/sms.txt", sms);
  }
  const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

// The errors of a load that must fail.
std::vector<std::string> load_errors(const fs::path& dir,
                                     const LoadOptions& opts = policy_options()) {
  try {
    Catalog::load(dir, opts);
  } catch (const LoadError& e) {
    return e.errors();
  }
  ADD_FAILURE() << "the load succeeded";
  return {};
}

bool any_error(const std::vector<std::string>& errors, std::string_view prefix,
               std::string_view words) {
  return std::any_of(errors.begin(), errors.end(), [&](const std::string& e) {
    return e.starts_with(prefix) && e.find(words) != std::string::npos;
  });
}

std::string joined(const std::vector<std::string>& errors) {
  std::string s;
  for (const auto& e : errors) s += e + "\n";
  return s;
}

// --- the shipped templates -------------------------------------------------------------------

TEST(Catalog, AllShippedTemplatesLoadInJapaneseAndEnglish) {
  const Catalog* catalog = nullptr;
  try {
    catalog = &shipped_catalog();
  } catch (const LoadError& e) {
    FAIL() << e.what();
  }
  std::vector<std::string> names = catalog->names();
  EXPECT_EQ(names.size(), shipped.size());
  for (const auto& [name, purpose] : shipped) {
    EXPECT_TRUE(catalog->contains(name)) << name;
    for (std::string_view locale : {"ja", "en"}) {
      const Template* t = catalog->find(name, locale);
      ASSERT_NE(t, nullptr) << name;
      EXPECT_EQ(t->locale(), locale) << name;
      EXPECT_EQ(t->name(), name);
      EXPECT_EQ(t->purpose(), purpose) << name;
      for (Channel c : all_channels) EXPECT_TRUE(t->has_channel(c)) << name << " " << to_string(c);
    }
  }
}

TEST(Catalog, ShippedCategoriesArePermittedByTheirPurpose) {
  for (const auto& [name, purpose] : shipped) {
    for (std::string_view locale : {"ja", "en"}) {
      const Template* t = shipped_catalog().find(name, locale);
      ASSERT_NE(t, nullptr);
      const auto& allowed = permitted.at(purpose);
      for (const std::string& category : t->categories())
        EXPECT_TRUE(allowed.contains(category))
            << name << " (" << locale << ") tags " << category << ", which purpose " << purpose
            << " does not permit";
      EXPECT_FALSE(std::find(t->categories().begin(), t->categories().end(), "none") !=
                   t->categories().end());
    }
  }
  const Template* reminder = shipped_catalog().find("reservation.reminder", "ja");
  ASSERT_NE(reminder, nullptr);
  EXPECT_EQ(std::vector<std::string>(reminder->categories().begin(), reminder->categories().end()),
            (std::vector<std::string>{"member_profile", "usage_history"}));
}

TEST(Catalog, EveryShippedPartRendersStrictlyWithTypicalData) {
  for (const auto& [name, purpose] : shipped) {
    for (std::string_view locale : {"ja", "en"}) {
      const Template* t = shipped_catalog().find(name, locale);
      ASSERT_NE(t, nullptr);
      const json data = typical_data(locale), injected = typical_injected(locale);
      for (Channel c : all_channels) {
        auto result = t->render(c, data, injected);
        ASSERT_TRUE(std::holds_alternative<Rendered>(result))
            << name << " " << locale << " " << to_string(c) << ": "
            << std::get<RenderError>(result).detail;
        const Rendered& r = std::get<Rendered>(result);
        for (const std::string* part : {&r.email_subject, &r.email_text, &r.email_html, &r.sms_text,
                                        &r.push_title, &r.push_body, &r.line_text})
          EXPECT_EQ(part->find("{{"), std::string::npos) << name << " " << locale;
        if (c == Channel::sms) {
          SmsCount n = count_sms(r.sms_text);
          EXPECT_LE(n.segments, 2u)
              << name << " " << locale << ": " << n.units << " units: " << r.sms_text;
          EXPECT_EQ(r.sms_text.find('\n'), std::string::npos) << name << " " << locale;
        }
        if (c == Channel::email) {
          EXPECT_EQ(r.email_subject.find('\n'), std::string::npos) << name;
          EXPECT_TRUE(r.email_html.starts_with("<!DOCTYPE html>")) << name;
        }
        if (c == Channel::push) {
          EXPECT_FALSE(r.push_title.empty()) << name;
        }
        if (c == Channel::line) {
          EXPECT_FALSE(r.line_text.empty()) << name << " " << locale;
          EXPECT_FALSE(r.line_text.ends_with("\n")) << name << " " << locale;
        }
      }
    }
  }
}

TEST(Catalog, MarketingTemplatesCarrySenderAndAWayToStop) {
  for (const auto& [name, purpose] : shipped) {
    if (!marketing_purposes.contains(purpose)) continue;
    const Template* t = shipped_catalog().find(name, "ja");
    ASSERT_NE(t, nullptr);
    auto result = t->render(Channel::sms, typical_data("ja"), typical_injected("ja"));
    ASSERT_TRUE(std::holds_alternative<Rendered>(result)) << name;
    const std::string& sms = std::get<Rendered>(result).sms_text;
    EXPECT_NE(sms.find("https://d.example.jp/u/Xk29fPq8Lm3n"), std::string::npos) << name;
    EXPECT_NE(sms.find("0120-123-456"), std::string::npos) << name;
  }
}

TEST(Catalog, MarketingLineMessagesCarrySenderAndAWayToStopInBothLanguages) {
  for (const auto& [name, purpose] : shipped) {
    for (std::string_view locale : {"ja", "en"}) {
      const Template* t = shipped_catalog().find(name, locale);
      ASSERT_NE(t, nullptr);
      ASSERT_TRUE(t->has_channel(Channel::line)) << name << " " << locale;
      if (!marketing_purposes.contains(purpose)) continue;
      auto result = t->render(Channel::line, typical_data(locale), typical_injected(locale));
      ASSERT_TRUE(std::holds_alternative<Rendered>(result)) << name;
      const std::string& text = std::get<Rendered>(result).line_text;
      EXPECT_NE(text.find("https://d.example.jp/u/Xk29fPq8Lm3n"), std::string::npos) << name;
      EXPECT_NE(text.find("0120-123-456"), std::string::npos) << name;
    }
  }
}

TEST(Catalog, LocaleFallsBackToJapanese) {
  const Catalog& catalog = shipped_catalog();
  const Template* fr = catalog.find("reservation.reminder", "fr");
  ASSERT_NE(fr, nullptr);
  EXPECT_EQ(fr->locale(), "ja");
  const Template* en_us = catalog.find("reservation.reminder", "en-US");
  ASSERT_NE(en_us, nullptr);
  EXPECT_EQ(en_us->locale(), "en");
  EXPECT_EQ(catalog.find("no.such.template", "ja"), nullptr);
  EXPECT_FALSE(catalog.contains("no.such.template"));
}

TEST(Catalog, JapaneseReminderSmsNamesThePatient) {
  const Template* t = shipped_catalog().find("reservation.reminder", "ja");
  ASSERT_NE(t, nullptr);
  auto result = t->render(Channel::sms, typical_data("ja"), typical_injected("ja"));
  ASSERT_TRUE(std::holds_alternative<Rendered>(result)) << std::get<RenderError>(result).detail;
  const Rendered& r = std::get<Rendered>(result);
  EXPECT_EQ(r.sms_text,
            "【さくら歯科クリニック】山田 花子様、12月1日(火) 10:00にご予約を承っております。"
            "ご来院をお待ちしております。変更はお電話で 03-1234-5678");
  EXPECT_TRUE(r.email_text.empty());
  EXPECT_TRUE(r.push_body.empty());
  EXPECT_EQ(count_sms(r.sms_text).encoding, SmsEncoding::ucs2);
}

TEST(Catalog, HtmlPartsEscapeButKeepSlashesTextPartsDoNot) {
  const Template* t = shipped_catalog().find("reservation.reminder", "ja");
  ASSERT_NE(t, nullptr);
  json data = typical_data("ja");
  data["name"] = "<Tom & 'Jerry'>";
  data["reservation_url"] = "https://d.example.jp/r/a?x=1&y=2";
  auto result = t->render(Channel::email, data, typical_injected("ja"));
  ASSERT_TRUE(std::holds_alternative<Rendered>(result)) << std::get<RenderError>(result).detail;
  const Rendered& r = std::get<Rendered>(result);
  EXPECT_NE(r.email_html.find("&lt;Tom &amp; &#39;Jerry&#39;&gt;様"), std::string::npos);
  EXPECT_EQ(r.email_html.find("<Tom"), std::string::npos);
  EXPECT_NE(r.email_html.find("href=\"https://d.example.jp/r/a?x=1&amp;y=2\""), std::string::npos);
  EXPECT_NE(r.email_text.find("<Tom & 'Jerry'>様"), std::string::npos);
  EXPECT_NE(r.email_text.find("https://d.example.jp/r/a?x=1&y=2"), std::string::npos);
}

TEST(Catalog, OptionalSectionsDisappearWhenEmpty) {
  const Template* t = shipped_catalog().find("reservation.reminder", "ja");
  ASSERT_NE(t, nullptr);
  json data = typical_data("ja");
  data.erase("reservation_url");
  auto result = t->render(Channel::email, data, typical_injected("ja"));
  ASSERT_TRUE(std::holds_alternative<Rendered>(result));
  EXPECT_EQ(std::get<Rendered>(result).email_html.find("<a href"), std::string::npos);
  EXPECT_EQ(std::get<Rendered>(result).email_text.find("ご予約内容の確認・変更"),
            std::string::npos);
}

TEST(Catalog, StrictModeMakesAMissingVariableAnError) {
  const Template* t = shipped_catalog().find("reservation.reminder", "ja");
  ASSERT_NE(t, nullptr);
  json data = typical_data("ja");
  data.erase("name");
  for (Channel c : all_channels) {
    auto result = t->render(c, data, typical_injected("ja"));
    ASSERT_TRUE(std::holds_alternative<RenderError>(result)) << to_string(c);
    EXPECT_EQ(std::get<RenderError>(result).reason, "template_missing_variable:name");
  }
  data["name"] = nullptr;  // null is missing too: no 「様」 without a name
  auto null_name = t->render(Channel::sms, data, typical_injected("ja"));
  ASSERT_TRUE(std::holds_alternative<RenderError>(null_name));
  EXPECT_EQ(std::get<RenderError>(null_name).reason, "template_missing_variable:name");
}

TEST(Catalog, InjectedValuesWinOverMessageData) {
  const Template* t = shipped_catalog().find("campaign.announcement", "ja");
  ASSERT_NE(t, nullptr);
  json data = typical_data("ja");
  data["unsubscribe_url"] = "https://evil.example/";
  auto result = t->render(Channel::sms, data, typical_injected("ja"));
  ASSERT_TRUE(std::holds_alternative<Rendered>(result));
  EXPECT_EQ(std::get<Rendered>(result).sms_text.find("evil"), std::string::npos);
  auto without = t->render(Channel::sms, data, json::object());  // the dispatcher forgot
  ASSERT_TRUE(std::holds_alternative<RenderError>(without));
  EXPECT_EQ(std::get<RenderError>(without).reason, "template_missing_variable:sender_name");
}

TEST(Catalog, RenderIntoReusesTheBuffers) {
  const Template* t = shipped_catalog().find("reservation.reminder", "ja");
  ASSERT_NE(t, nullptr);
  Rendered out;
  ASSERT_FALSE(t->render_into(Channel::email, typical_data("ja"), typical_injected("ja"), out));
  const std::string first = out.email_html;
  EXPECT_FALSE(first.empty());
  ASSERT_FALSE(t->render_into(Channel::sms, typical_data("ja"), typical_injected("ja"), out));
  EXPECT_TRUE(out.email_html.empty());  // the other channel's parts are cleared
  EXPECT_FALSE(out.sms_text.empty());
  ASSERT_FALSE(t->render_into(Channel::email, typical_data("ja"), typical_injected("ja"), out));
  EXPECT_EQ(out.email_html, first);
}

// --- load errors -----------------------------------------------------------------------------

TEST(CatalogLoad, UnclosedSectionNamesFileAndLine) {
  TempTemplates dir;
  dir.sms_template("ja", "broken.one", "{{name}}様\n{{#note}}メモ\n");
  const auto errors = load_errors(dir.root());
  const std::string file = (dir.root() / "ja" / "broken.one" / "sms.txt").string();
  EXPECT_TRUE(any_error(errors, file + ":2:", "unclosed section 'note'")) << joined(errors);
}

TEST(CatalogLoad, EveryErrorIsListed) {
  TempTemplates dir;
  dir.sms_template("ja", "broken.one", "{{#a}}\n{{/b}}\n");
  dir.sms_template("ja", "broken.two", "{{name}}様 {{=<% =}}");
  dir.sms_template("ja", "fine.one", "{{name}}様");
  const auto errors = load_errors(dir.root());
  EXPECT_TRUE(
      any_error(errors, (dir.root() / "ja/broken.one/sms.txt").string() + ":2:", "does not match"))
      << joined(errors);
  EXPECT_TRUE(
      any_error(errors, (dir.root() / "ja/broken.two/sms.txt").string() + ":1:", "bad delimiter"))
      << joined(errors);
  EXPECT_EQ(errors.size(), 2u) << joined(errors);
}

TEST(CatalogLoad, MarketingWithoutUnsubscribeLinkIsRefused) {
  TempTemplates dir;
  const std::string meta = "purpose: campaign\nvariables:\n  name: member_profile\n";
  dir.write("ja/ad.one/meta.yaml", meta);
  dir.write("ja/ad.one/email.subject", "【{{sender_name}}】ご案内\n");
  dir.write("ja/ad.one/email.txt", "{{name}}様\n発行：{{sender_name}} {{sender_contact}}\n");
  dir.write("ja/ad.one/email.html",
            "<p>{{name}}様</p><p>{{sender_name}} {{sender_contact}}</p><a "
            "href=\"{{unsubscribe_url}}\">停止</a>\n");
  const auto errors = load_errors(dir.root());
  const std::string file = (dir.root() / "ja/ad.one/email.txt").string();
  EXPECT_TRUE(any_error(errors, file + ":", "unsubscribe_url")) << joined(errors);
  EXPECT_EQ(errors.size(), 1u) << joined(errors);

  // The same template is fine for a purpose that is not marketing.
  dir.write("ja/ad.one/meta.yaml", "purpose: support\nvariables:\n  name: member_profile\n");
  EXPECT_NO_THROW(Catalog::load(dir.root(), policy_options()));
}

TEST(CatalogLoad, MarketingSmsNeedsSenderAndStopOutsideSections) {
  TempTemplates dir;
  dir.sms_template("ja", "ad.two", "{{name}}様 {{#name}}{{unsubscribe_url}}{{/name}}",
                   "purpose: points\nvariables:\n  name: member_profile\n");
  const auto errors = load_errors(dir.root());
  const std::string file = (dir.root() / "ja/ad.two/sms.txt").string();
  EXPECT_TRUE(any_error(errors, file, "sender_name")) << joined(errors);
  EXPECT_TRUE(any_error(errors, file, "sender_contact")) << joined(errors);
  EXPECT_TRUE(any_error(errors, file, "unsubscribe_url")) << joined(errors);
}

TEST(CatalogLoad, MarketingPushMustNameTheSender) {
  TempTemplates dir;
  dir.write("ja/ad.three/meta.yaml", "purpose: survey\nvariables:\n  name: member_profile\n");
  dir.write("ja/ad.three/push.title", "アンケートのお願い");
  dir.write("ja/ad.three/push.body", "{{name}}様、ご協力ください。");
  const auto errors = load_errors(dir.root());
  EXPECT_TRUE(any_error(errors, (dir.root() / "ja/ad.three/push.body").string(), "sender_name"))
      << joined(errors);
  dir.write("ja/ad.three/push.title", "{{sender_name}}：アンケートのお願い");
  dir.write("ja/ad.three/push.body", "{{name}}様、ご協力ください。{{sender_contact}}");
  EXPECT_NO_THROW(Catalog::load(dir.root(), policy_options()));  // push needs no unsubscribe link
}

TEST(CatalogLoad, MarketingLineNeedsSenderAndAWayToStop) {
  TempTemplates dir;
  dir.write("ja/ad.line/meta.yaml", "purpose: campaign\nvariables:\n  name: member_profile\n");
  dir.write("ja/ad.line/line.txt", "{{name}}様、キャンペーンのお知らせです。");
  const auto errors = load_errors(dir.root());
  const std::string file = (dir.root() / "ja/ad.line/line.txt").string();
  EXPECT_TRUE(any_error(errors, file, "sender_name")) << joined(errors);
  EXPECT_TRUE(any_error(errors, file, "sender_contact")) << joined(errors);
  EXPECT_TRUE(any_error(errors, file, "unsubscribe_url")) << joined(errors);
  dir.write(
      "ja/ad.line/line.txt",
      "【{{sender_name}}】{{name}}様\n問合せ {{sender_contact}}\n配信停止 {{unsubscribe_url}}");
  EXPECT_NO_THROW(Catalog::load(dir.root(), policy_options()));
}

TEST(CatalogLoad, LineOverFiveThousandCharactersIsARenderError) {
  TempTemplates dir;
  dir.write("ja/long.line/meta.yaml", "purpose: reservation\nvariables:\n  name: member_profile\n");
  dir.write("ja/long.line/line.txt", "{{name}}様");
  Catalog catalog = Catalog::load(dir.root(), policy_options());
  const Template* t = catalog.find("long.line", "ja");
  ASSERT_NE(t, nullptr);
  auto repeat = [](std::string_view unit, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += unit;
    return s;
  };
  EXPECT_TRUE(std::holds_alternative<Rendered>(
      t->render(Channel::line, json{{"name", repeat("あ", 4999)}}, json::object())));
  auto over = t->render(Channel::line, json{{"name", repeat("あ", 5000)}}, json::object());
  ASSERT_TRUE(std::holds_alternative<RenderError>(over));
  EXPECT_EQ(std::get<RenderError>(over).reason, "line_too_long");
  // A character outside the BMP counts twice, as LINE counts UTF-16 units.
  auto emoji = t->render(Channel::line, json{{"name", repeat("\U0001F9B7", 2500)}}, json::object());
  EXPECT_TRUE(std::holds_alternative<RenderError>(emoji));
}

TEST(CatalogLoad, SmsTooLongIsARenderError) {
  TempTemplates dir;
  dir.sms_template(
      "ja", "long.one", "{{name}}様",
      "purpose: reservation\nvariables:\n  name: member_profile\nmax_sms_segments: 1\n");
  Catalog catalog = Catalog::load(dir.root(), policy_options());
  const Template* t = catalog.find("long.one", "ja");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->max_sms_segments(), 1u);
  auto hiragana = [](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += "あ";
    return s;
  };
  auto fits = t->render(Channel::sms, json{{"name", hiragana(69)}}, json::object());
  ASSERT_TRUE(std::holds_alternative<Rendered>(fits));  // 69 + 「様」 = 70 units
  const std::string name71 = hiragana(70);              // + 「様」 = 71 units
  auto result = t->render(Channel::sms, json{{"name", name71}}, json::object());
  ASSERT_TRUE(std::holds_alternative<RenderError>(result));
  EXPECT_EQ(std::get<RenderError>(result).reason, "sms_too_long");

  LoadOptions opts = policy_options();
  opts.max_sms_segments["long.one"] = 2;  // the options win over meta.yaml
  Catalog relaxed = Catalog::load(dir.root(), opts);
  EXPECT_EQ(relaxed.find("long.one", "ja")->max_sms_segments(), 2u);
  EXPECT_TRUE(std::holds_alternative<Rendered>(
      relaxed.find("long.one", "ja")
          ->render(Channel::sms, json{{"name", name71}}, json::object())));
}

TEST(CatalogLoad, ChannelNotOfferedIsAMissingPart) {
  TempTemplates dir;
  dir.sms_template("ja", "sms.only", "{{name}}様");
  Catalog catalog = Catalog::load(dir.root(), policy_options());
  const Template* t = catalog.find("sms.only", "ja");
  ASSERT_NE(t, nullptr);
  EXPECT_FALSE(t->has_channel(Channel::email));
  auto result = t->render(Channel::email, json{{"name", "x"}}, json::object());
  ASSERT_TRUE(std::holds_alternative<RenderError>(result));
  EXPECT_EQ(std::get<RenderError>(result).reason, "template_missing_part:email.subject");
}

TEST(CatalogLoad, IncompleteChannelIsALoadError) {
  TempTemplates dir;
  dir.sms_template("ja", "half.email", "{{name}}様");
  dir.write("ja/half.email/email.subject", "件名");
  const auto errors = load_errors(dir.root());
  EXPECT_TRUE(any_error(errors, (dir.root() / "ja/half.email/email.txt").string(), "missing"))
      << joined(errors);
  EXPECT_TRUE(any_error(errors, (dir.root() / "ja/half.email/email.html").string(), "missing"))
      << joined(errors);
}

TEST(CatalogLoad, UndeclaredVariableIsALoadError) {
  TempTemplates dir;
  dir.sms_template("ja", "undeclared.one", "{{name}}様\n{{clinic_name}}です {{sender_name}}");
  const auto errors = load_errors(dir.root());
  EXPECT_TRUE(any_error(errors, (dir.root() / "ja/undeclared.one/sms.txt").string() + ":2:",
                        "'clinic_name' is not declared"))
      << joined(errors);
  EXPECT_EQ(errors.size(), 1u) << joined(errors);  // sender_name is injected
}

TEST(CatalogLoad, MetaYamlIsValidated) {
  TempTemplates dir;
  dir.sms_template(
      "ja", "meta.one", "{{name}}様 {{x}}",
      "purpose: reservation\nvariables:\n  name: member_profile\n  x: shoe_size\ncolour: blue\n");
  dir.sms_template("ja", "meta.two", "{{name}}様",
                   "purpose: lottery\nvariables:\n  name: member_profile\n");
  const auto errors = load_errors(dir.root());
  const std::string one = (dir.root() / "ja/meta.one/meta.yaml").string();
  const std::string two = (dir.root() / "ja/meta.two/meta.yaml").string();
  EXPECT_TRUE(any_error(errors, one + ":4:", "unknown data category 'shoe_size'"))
      << joined(errors);
  EXPECT_TRUE(any_error(errors, one + ":5:", "unknown key 'colour'")) << joined(errors);
  EXPECT_TRUE(any_error(errors, two + ":1:", "unknown purpose 'lottery'")) << joined(errors);
}

TEST(CatalogLoad, NonUtf8FileIsALoadError) {
  TempTemplates dir;
  dir.sms_template("ja", "latin1.one",
                   "{{name}}様\nSchr\xf6"
                   "der\n");
  const auto errors = load_errors(dir.root());
  EXPECT_TRUE(any_error(errors, (dir.root() / "ja/latin1.one/sms.txt").string() + ":2:", "UTF-8"))
      << joined(errors);
}

TEST(CatalogLoad, EveryNameNeedsAJapaneseVersion) {
  TempTemplates dir;
  dir.sms_template("en", "english.only", "{{name}}");
  const auto errors = load_errors(dir.root());
  EXPECT_TRUE(any_error(errors, (dir.root() / "ja/english.only").string(), "ja version"))
      << joined(errors);
}

TEST(CatalogLoad, NoneTagAddsNoCategory) {
  TempTemplates dir;
  dir.sms_template(
      "ja", "none.one", "{{clinic_name}}より{{name}}様へ",
      "purpose: reservation\nvariables:\n  name: nonmember_contact\n  clinic_name: none\n");
  Catalog catalog = Catalog::load(dir.root(), policy_options());
  const Template* t = catalog.find("none.one", "ja");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(std::vector<std::string>(t->categories().begin(), t->categories().end()),
            std::vector<std::string>{"nonmember_contact"});
}

}  // namespace
}  // namespace dispatcher::templates
