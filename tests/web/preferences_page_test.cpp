// The unsubscribe / preferences page as HTML: accessible, bilingual, showing the state.
#include "web/preferences_page.hpp"

#include <gtest/gtest.h>

#include "policy/policy.hpp"

namespace dispatcher::web {
namespace {

TEST(PreferencesPage, IsAccessibleBilingualAndShowsState) {
  PreferencesView v;
  v.token = "tok.en";
  v.purposes = page_purposes(policy::Policy::load(DISPATCHER_SOURCE_DIR "/config/policy.yaml"));
  v.opted_out = {"purpose:advertising", "channel:sms"};
  const std::string ja = render_preferences_page(v);
  EXPECT_NE(ja.find("<html lang=\"ja\">"), std::string::npos);
  EXPECT_NE(ja.find("name=\"viewport\""), std::string::npos);
  EXPECT_NE(ja.find("<legend>"), std::string::npos);
  EXPECT_NE(ja.find("<label for=\"purpose-advertising\">"), std::string::npos);
  EXPECT_NE(ja.find("id=\"purpose-advertising\" name=\"purpose\" value=\"advertising\">"),
            std::string::npos)
      << "opted out: unticked";
  EXPECT_NE(ja.find("id=\"purpose-campaign\" name=\"purpose\" value=\"campaign\" checked>"),
            std::string::npos);
  EXPECT_NE(ja.find("id=\"channel-sms\" name=\"channel\" value=\"sms\">"), std::string::npos);
  EXPECT_NE(ja.find("action=\"/u/tok.en/preferences\""), std::string::npos);
  EXPECT_NE(ja.find("href=\"/u/tok.en?lang=en\""), std::string::npos);
  EXPECT_NE(ja.find("保存する"), std::string::npos);
  v.lang = "en";
  v.saved = true;
  const std::string en = render_preferences_page(v);
  EXPECT_NE(en.find("<html lang=\"en\">"), std::string::npos);
  EXPECT_NE(en.find("role=\"status\""), std::string::npos);
  EXPECT_NE(en.find("action=\"/u/tok.en/preferences?lang=en\""), std::string::npos);
  EXPECT_NE(en.find("日本語"), std::string::npos);
}

}  // namespace
}  // namespace dispatcher::web
