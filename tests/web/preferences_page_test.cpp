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
  v.channels = offered_channels(redis::Reply{});
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

TEST(PreferencesPage, ShowsALineBoxOnlyToAMemberWithALineId) {
  redis::Reply none;  // HGET sub:<id> line_h of a member without one (or of a non-member): nil
  EXPECT_EQ(offered_channels(none),
            (std::vector<Channel>{Channel::email, Channel::sms, Channel::push}));
  redis::Reply empty;
  empty.type = redis::Reply::Type::string;  // a record written without a LINE id: ""
  EXPECT_EQ(offered_channels(empty).size(), 3u);
  redis::Reply has = empty;
  has.str = "0123456789abcdef0123456789abcdef";
  EXPECT_EQ(offered_channels(has).back(), Channel::line);

  PreferencesView v;
  v.token = "t";
  v.channels = offered_channels(none);
  EXPECT_EQ(render_preferences_page(v).find("channel-line"), std::string::npos);
  v.channels = offered_channels(has);
  v.opted_out = {"channel:line"};
  const std::string page = render_preferences_page(v);
  EXPECT_NE(page.find("id=\"channel-line\" name=\"channel\" value=\"line\">"), std::string::npos)
      << "a LINE box, unticked after an unfollow";
  EXPECT_NE(page.find("<label for=\"channel-line\">LINE</label>"), std::string::npos);
}

}  // namespace
}  // namespace dispatcher::web
