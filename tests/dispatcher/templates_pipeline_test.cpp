// Templates as the binary uses them: render for tools, check naming a broken file, and an
// e-mail rendered through the pipeline into the outbox with escaped HTML and a Japanese subject.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "channels/email/mime.hpp"
#include "dispatcher/dispatcher_env.hpp"

using namespace testing_support;
using nlohmann::json;

namespace {

std::string base64_decode(const std::string& in) {
  static const std::string chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    auto p = chars.find(c);
    if (p == std::string::npos) continue;
    acc = (acc << 6) | static_cast<unsigned>(p);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

// The shipped templates copied under `dir` (without the folder's C++ sources), for a test to
// break one of them.
fs::path copy_shipped_templates(const fs::path& dir) {
  const fs::path copy = dir / "templates";
  fs::copy(fs::path(DISPATCHER_SOURCE_DIR) / "templates", copy, fs::copy_options::recursive);
  for (const auto& e : fs::recursive_directory_iterator(copy))
    if (e.path().extension() == ".cpp" || e.path().extension() == ".hpp" ||
        e.path().filename() == "CMakeLists.txt")
      fs::remove(e.path());
  return copy;
}

TEST(TemplatesPipeline, RenderPrintsTheToolShapeWithSmsCounts) {
  DispatcherEnv env;
  write_file(
      env.dir() / "data.json",
      R"({"name": "山田太郎", "clinic_name": "さくら歯科", "starts_at": "12月1日 10:00", "clinic_phone": "03-1234-5678", "reservation_url": "https://example.jp/r"})");
  auto r = env.run({"render", "reservation.reminder", "--channel", "sms", "--data",
                    (env.dir() / "data.json").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  ASSERT_TRUE(j["parts"].contains("sms.txt"));
  EXPECT_NE(j["parts"]["sms.txt"].get<std::string>().find("山田太郎様"), std::string::npos);
  EXPECT_EQ(j["sms"]["encoding"], "UCS-2");
  EXPECT_GT(j["sms"]["units"].get<int>(), 0);
  EXPECT_GE(j["sms"]["segments"].get<int>(), 1);

  auto missing = env.run({"render", "reservation.reminder", "--channel", "sms", "--json"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("template_missing_variable:"), std::string::npos) << missing.err;
}

TEST(TemplatesPipeline, RenderShowsTheLinePart) {
  DispatcherEnv env;
  write_file(
      env.dir() / "data.json",
      R"({"name": "山田太郎", "clinic_name": "さくら歯科", "starts_at": "12月1日 10:00", "clinic_phone": "03-1234-5678"})");
  auto r = env.run({"render", "reservation.reminder", "--channel", "line", "--data",
                    (env.dir() / "data.json").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  ASSERT_TRUE(j["parts"].contains("line.txt")) << r.out;
  EXPECT_NE(j["parts"]["line.txt"].get<std::string>().find("山田太郎様"), std::string::npos);
}

TEST(TemplatesPipeline, CheckRefusesAMarketingLinePartWithoutAWayToStop) {
  DispatcherEnv env;
  const fs::path copy = copy_shipped_templates(env.dir());
  const fs::path broken = copy / "en" / "campaign.announcement" / "line.txt";
  write_file(broken, "{{campaign_title}} ({{period}}) {{campaign_url}}\n");
  write_file(env.dir() / "dispatcher.yaml", "templates:\n  dir: " + copy.string() + "\n");
  auto r = env.run({"check"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(broken.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sender_name"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unsubscribe_url"), std::string::npos) << r.err;
}

TEST(TemplatesPipeline, CheckRefusesAMarketingTemplateWithoutAnUnsubscribeLinkNamingTheFile) {
  DispatcherEnv env;
  const fs::path copy = copy_shipped_templates(env.dir());
  const fs::path broken = copy / "ja" / "advertising.newsletter" / "email.txt";
  std::string text = slurp(broken);
  text = std::regex_replace(text, std::regex(R"(\{\{\{?unsubscribe_url\}?\}\})"),
                            "(配信停止はお問い合わせください)");
  write_file(broken, text);
  write_file(env.dir() / "dispatcher.yaml", "templates:\n  dir: " + copy.string() + "\n");
  auto r = env.run({"check"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("advertising.newsletter"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unsubscribe"), std::string::npos) << r.err;
}

TEST(TemplatesPipeline, AnEmailThroughThePipelineHasEscapedHtmlAndAJapaneseSubject) {
  DispatcherEnv env;
  json m = sms_reminder("mail-1", 0);
  m["to"] = {{"contact", {{"email", "guest@example.com"}}},
             {"clinic", "c-1"},
             {"source", "reservation_form"}};
  m["channels"] = {"email"};
  m["data"]["name"] = "<script>alert(1)</script>&山田";
  ASSERT_EQ(env.enqueue({m}).exit_code, 0);
  ASSERT_EQ(env.run({"run", "--until-idle"}).exit_code, 0);
  const std::string eml = slurp(env.outbox() / "email" / "clinic%3Ac-1+mail-1.eml");
  ASSERT_FALSE(eml.empty());

  // Subject: RFC 2047 B-encoded UTF-8 words, decoded back to the template's Japanese.
  std::smatch subject;
  ASSERT_TRUE(std::regex_search(eml, subject, std::regex("Subject: ((?:.|\r\n )*)\r\n")));
  std::string decoded;
  const std::string raw = subject[1];
  std::regex word(R"(=\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=)");
  for (auto it = std::sregex_iterator(raw.begin(), raw.end(), word); it != std::sregex_iterator();
       ++it)
    decoded += base64_decode((*it)[1]);
  EXPECT_NE(decoded.find("予約"), std::string::npos) << decoded;

  // The HTML part escapes the data; the text part keeps it as written.
  std::smatch html;
  ASSERT_TRUE(std::regex_search(
      eml, html,
      std::regex("Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: "
                 "base64\r\n\r\n([A-Za-z0-9+/=\r\n]+)")));
  const std::string body = base64_decode(html[1]);
  EXPECT_NE(body.find("&lt;script&gt;alert(1)&lt;/script&gt;&amp;山田"), std::string::npos) << body;
  EXPECT_EQ(body.find("<script>"), std::string::npos);
  // A reminder carries no unsubscribe headers.
  EXPECT_EQ(eml.find("List-Unsubscribe"), std::string::npos);
}

TEST(TemplatesPipeline, TimesSentAsRfc3339ReadAsPeopleReadThemInTheRecipientsZone) {
  DispatcherEnv env;
  ASSERT_EQ(env.put_subscribers({{{"id", "m-tokyo"},
                                  {"member", true},
                                  {"clinics", {"c-1", "c-102"}},
                                  {"phone", "+819012340201"},
                                  {"tz", "Asia/Tokyo"}},
                                 {{"id", "m-london"},
                                  {"member", true},
                                  {"clinics", {"c-1", "c-102"}},
                                  {"phone", "+447911123456"},
                                  {"tz", "Europe/London"}}})
                .exit_code,
            0);
  json ja = sms_reminder("times-ja", 0), en = sms_reminder("times-en", 1);
  ja["to"] = {{"subscriber", "m-tokyo"}};
  en["to"] = {{"subscriber", "m-london"}};
  en["locale"] = "en";
  for (json* m : {&ja, &en}) {
    (*m)["sender"] = "operator";
    (*m)["data"]["starts_at"] = "2026-12-01T10:00:00+09:00";
  }
  ASSERT_EQ(env.enqueue({ja, en}).exit_code, 0);
  auto run = env.run({"run", "--until-idle"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::map<std::string, std::string> text;
  for (const auto& line : env.sms_lines())
    text[line.value("id", line.value("message_id", ""))] = line.dump();
  ASSERT_EQ(text.size(), 2u);
  EXPECT_NE(text["times-ja"].find("12月1日(火) 10:00"), std::string::npos) << text["times-ja"];
  EXPECT_EQ(text["times-ja"].find("2026-12-01T10:00:00+09:00"), std::string::npos)
      << text["times-ja"];
  EXPECT_NE(text["times-en"].find("Tue 1 Dec 01:00"), std::string::npos)
      << "10:00 in Tokyo is 01:00 in London";

  // render previews the same (a recipient in Japan).
  const fs::path data = env.dir() / "data.json";
  std::ofstream(data) << json{{"name", "患者"},
                              {"clinic_name", "さくら歯科"},
                              {"starts_at", "2026-12-01T01:00:00Z"},
                              {"clinic_phone", "03-1234-5678"},
                              {"reservation_url", "https://example.jp/r"}}
                             .dump();
  auto r = env.run({"render", "reservation.reminder", "--channel", "sms", "--data", data.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("12月1日(火) 10:00"), std::string::npos) << r.out;
}

// Unsubscribe tokens name their scope by a code from a fixed table (the token format). A policy
// that adds a marketing purpose without a code is refused at load, by `check` and by `run`,
// instead of failing when the first such message is about to go out.
TEST(TemplatesPipeline, AMarketingPurposeWithoutATokenScopeIsRefusedAtLoad) {
  DispatcherEnv env;
  std::string policy = slurp(fs::path(DISPATCHER_SOURCE_DIR) / "config" / "policy.yaml");
  policy =
      std::regex_replace(policy, std::regex(R"(\n  - product_notice[^\n]*)"), "$&\n  - newsletter");
  policy = std::regex_replace(policy, std::regex(R"(purposes: \[advertising, )"),
                              "purposes: [newsletter, advertising, ");
  ASSERT_NE(policy.find("- newsletter"), std::string::npos);
  ASSERT_NE(policy.find("[newsletter, advertising"), std::string::npos);
  write_file(env.dir() / "policy.yaml", policy);
  write_file(env.dir() / "dispatcher.yaml",
             "policy_file: " + (env.dir() / "policy.yaml").string() + "\n");
  auto check = env.run({"check"});
  EXPECT_NE(check.exit_code, 0);
  EXPECT_NE(check.err.find("policy: marketing purpose newsletter has no unsubscribe token scope"),
            std::string::npos)
      << check.err;
  auto run = env.run({"run", "--until-idle"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("newsletter"), std::string::npos) << run.err;
}
