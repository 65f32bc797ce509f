#include "web/preferences_page.hpp"

#include <fmt/format.h>

#include <map>

#include "config/vocabulary.hpp"
#include "web/text.hpp"

namespace dispatcher::web {

namespace {

struct Label {
  const char* ja;
  const char* en;
};

const std::map<std::string, Label>& labels() {
  static const std::map<std::string, Label> m = {
      {"advertising", {"広告・宣伝のお知らせ", "Advertising"}},
      {"campaign", {"キャンペーン・プレゼント企画", "Campaigns and prize draws"}},
      {"recommendation", {"おすすめのサービス", "Recommendations"}},
      {"coupon_info", {"クーポン・お得な情報", "Coupons and offers"}},
      {"product_notice", {"医院の取り扱い商品のご案内", "Product notices from your clinic"}},
      {"points", {"ポイントサービス", "Points programme"}},
      {"survey", {"アンケートのお願い", "Surveys"}},
      {"email", {"メール", "E-mail"}},
      {"sms", {"SMS（ショートメッセージ）", "SMS (text messages)"}},
      {"push", {"アプリのプッシュ通知", "App push notifications"}},
      {"line", {"LINE", "LINE"}},
  };
  return m;
}

const char* t(const std::string& lang, const char* ja, const char* en) {
  return lang == "en" ? en : ja;
}

const char* style() {
  return R"(<style>
:root{--fg:#1f2933;--muted:#52606d;--accent:#0b6e4f;--bg:#f5f7f6;--card:#fff;--line:#cbd2d9}
*{box-sizing:border-box}
body{margin:0;font-family:"Hiragino Sans","Noto Sans JP","Yu Gothic",system-ui,sans-serif;color:var(--fg);background:var(--bg);line-height:1.7;font-size:16px}
header{background:var(--accent);color:#fff;padding:12px 16px;display:flex;justify-content:space-between;align-items:center;gap:8px;flex-wrap:wrap}
header .brand{font-weight:700}
header a{color:#fff}
main{max-width:640px;margin:0 auto;padding:16px}
h1{font-size:1.35rem;margin:8px 0 12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px;margin:0 0 16px}
fieldset{border:1px solid var(--line);border-radius:8px;margin:0 0 16px;padding:12px 16px;background:var(--card)}
legend{font-weight:700;padding:0 6px}
.opt{display:flex;align-items:center;gap:10px;min-height:44px}
.opt input{width:22px;height:22px;flex:none;accent-color:var(--accent)}
.opt label{flex:1;cursor:pointer}
.hint{color:var(--muted);font-size:.9rem;margin:4px 0 8px}
.notice{background:#e3f4ec;border-left:4px solid var(--accent);padding:10px 12px;margin:0 0 16px;border-radius:4px}
.danger{border-color:#b42318}
button{font:inherit;font-weight:700;background:var(--accent);color:#fff;border:0;border-radius:6px;padding:12px 20px;min-height:44px;width:100%;cursor:pointer}
button:hover{background:#095c42}
a:focus,button:focus,input:focus{outline:3px solid #f7b500;outline-offset:2px}
footer{color:var(--muted);font-size:.85rem;text-align:center;padding:16px}
@media (min-width:600px){button{width:auto}}
</style>)";
}

std::string page(const std::string& lang, const std::string& title, const std::string& lang_link,
                 const std::string& body) {
  return fmt::format(
      R"(<!DOCTYPE html>
<html lang="{}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{}</title>
{}
</head>
<body>
<header><span class="brand">{}</span>{}</header>
<main>
{}
</main>
<footer>{}</footer>
</body>
</html>
)",
      lang, html_escape(title), style(),
      t(lang, "歯科予約サービス 配信設定", "Dental booking service: message settings"), lang_link,
      body,
      t(lang, "この設定は、このリンクを受け取った方のみが変更できます。",
        "Only the person who received this link can change these settings."));
}

std::string checkbox(const std::string& name, const std::string& value, const std::string& id,
                     bool checked, const std::string& label) {
  return fmt::format(
      R"(<div class="opt"><input type="checkbox" id="{}" name="{}" value="{}"{}><label for="{}">{}</label></div>
)",
      id, name, value, checked ? " checked" : "", id, html_escape(label));
}

}  // namespace

std::vector<std::string> page_purposes(const policy::Policy& p) {
  std::vector<std::string> out;
  for (std::string_view purpose : p.purposes())
    if (p.is_marketing(purpose)) out.emplace_back(purpose);
  return out;
}

std::string render_preferences_page(const PreferencesView& v) {
  const std::string& lang = v.lang;
  const std::string base = "/u/" + v.token;
  const std::string lang_link =
      lang == "en"
          ? fmt::format(R"(<a href="{}" lang="ja" hreflang="ja">日本語</a>)", html_escape(base))
          : fmt::format(R"(<a href="{}?lang=en" lang="en" hreflang="en">English</a>)",
                        html_escape(base));
  auto label = [&](const std::string& key) {
    auto it = labels().find(key);
    return it == labels().end() ? key : std::string(t(lang, it->second.ja, it->second.en));
  };
  std::string body;
  body +=
      fmt::format("<h1>{}</h1>\n", t(lang, "メール・通知の配信設定", "Your message preferences"));
  if (v.saved)
    body += fmt::format(R"(<p class="notice" role="status">{}</p>)",
                        t(lang, "設定を保存しました。", "Your settings have been saved.")) +
            "\n";
  const bool all_out = v.opted_out.count("all") > 0;
  if (all_out)
    body += fmt::format(R"(<p class="notice" role="status">{}</p>)",
                        t(lang, "現在、すべてのお知らせの配信を停止しています。",
                          "You currently receive no messages from us.")) +
            "\n";
  body +=
      fmt::format("<p>{}</p>\n", t(lang,
                                   "受け取りたいお知らせにチェックを入れ、「保存する」を押してくだ"
                                   "さい。チェックを外した項目は配信を停止します。予約の確認やリマ"
                                   "インダーなど、ご予約に必要なご連絡は引き続きお送りします。",
                                   "Tick what you want to receive and press Save. Unticked items "
                                   "stop. Booking confirmations and reminders are still sent."));
  body += fmt::format(R"(<form method="post" action="{}/preferences{}">
<input type="hidden" name="form" value="prefs-v1">
)",
                      html_escape(base), lang == "en" ? "?lang=en" : "");
  body +=
      fmt::format("<fieldset>\n<legend>{}</legend>\n<p class=\"hint\">{}</p>\n",
                  t(lang, "お知らせの種類", "Kinds of message"),
                  t(lang, "広告・宣伝を含むお知らせです。", "Messages that advertise or promote."));
  for (const auto& p : v.purposes)
    body += checkbox("purpose", p, "purpose-" + p, !v.opted_out.count("purpose:" + p), label(p));
  body += "</fieldset>\n";
  body +=
      fmt::format("<fieldset>\n<legend>{}</legend>\n", t(lang, "受け取る方法", "How we reach you"));
  for (Channel ch : v.channels) {
    const std::string c(to_string(ch));
    body += checkbox("channel", c, "channel-" + c, !v.opted_out.count("channel:" + c), label(c));
  }
  body += "</fieldset>\n";
  body += fmt::format("<fieldset class=\"danger\">\n<legend>{}</legend>\n",
                      t(lang, "すべて停止", "Stop everything"));
  body += checkbox("stop_all", "1", "stop-all", all_out,
                   t(lang, "すべてのお知らせの配信を停止する", "Stop all messages from us"));
  body += "</fieldset>\n";
  body +=
      fmt::format("<button type=\"submit\">{}</button>\n</form>\n", t(lang, "保存する", "Save"));
  return page(lang, t(lang, "配信設定", "Message preferences"), lang_link, body);
}

std::vector<Channel> offered_channels(const redis::Reply& line_h) {
  std::vector<Channel> out{Channel::email, Channel::sms, Channel::push};
  if (line_h.is_string() && !line_h.str.empty()) out.push_back(Channel::line);
  return out;
}

std::string render_message_page(const std::string& lang, int status, const std::string& title_ja,
                                const std::string& title_en, const std::string& body_ja,
                                const std::string& body_en) {
  const bool en = lang == "en";
  return page(
      lang, en ? title_en : title_ja, "",
      fmt::format("<h1>{}</h1>\n<div class=\"card\"><p>{}</p></div>",
                  html_escape(en ? title_en : title_ja), html_escape(en ? body_en : body_ja)));
}

}  // namespace dispatcher::web
