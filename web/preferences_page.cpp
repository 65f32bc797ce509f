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
:root{--fg:#1f2933;--muted:#52606d;--accent:#0b6e4f;--bg:#f5f7f6;--card:#fff;--line:#cbd2d9;--warn:#b42318}
*{box-sizing:border-box}
html{scroll-padding-bottom:88px}
body{margin:0;font-family:"Hiragino Sans","Noto Sans JP","Yu Gothic",system-ui,sans-serif;color:var(--fg);background:var(--bg);line-height:1.7;font-size:16px;overflow-wrap:anywhere}
header{background:var(--accent);color:#fff;padding:12px 16px;display:flex;justify-content:space-between;align-items:center;gap:8px;flex-wrap:wrap}
header .brand{font-weight:700}
header a{color:#fff}
main{max-width:640px;margin:0 auto;padding:16px}
h1{font-size:1.35rem;margin:8px 0 12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:0 0 16px}
.card p{margin:4px 0}
fieldset{border:1px solid var(--line);border-radius:8px;margin:0 0 16px;padding:12px 16px;background:var(--card)}
legend{font-weight:700;padding:0 6px}
.opt{display:flex;align-items:center;gap:10px;min-height:44px}
.opt input{width:22px;height:22px;flex:none;accent-color:var(--accent)}
.opt label{flex:1;cursor:pointer}
.hint{color:var(--muted);font-size:.9rem;margin:4px 0 8px}
.notice{background:#e3f4ec;border-left:4px solid var(--accent);padding:10px 12px;margin:0 0 16px;border-radius:4px}
.danger{border-color:var(--warn)}
.danger .hint{color:var(--warn)}
button{font:inherit;font-weight:700;background:var(--accent);color:#fff;border:0;border-radius:6px;padding:12px 20px;min-height:44px;width:100%;cursor:pointer}
button:hover{background:#095c42}
button.secondary{background:#fff;color:var(--accent);border:2px solid var(--accent)}
.savebar{position:sticky;bottom:0;background:var(--bg);padding:8px 0;margin:0 0 16px;box-shadow:0 -6px 8px -6px rgba(0,0,0,.2)}
a:focus,button:focus,input:focus{outline:3px solid #f7b500;outline-offset:2px}
footer{color:var(--muted);font-size:.85rem;text-align:center;padding:16px}
footer p{margin:4px 0}
@media (min-width:600px){button{width:auto}}
</style>)";
}

// The operator's contact, as a link when it is an address or a number.
std::string contact_html(const config::SenderIdentity& brand) {
  const std::string& c = brand.contact;
  if (c.empty()) return {};
  if (c.find('@') != std::string::npos)
    return fmt::format(R"(<a href="mailto:{0}">{0}</a>)", html_escape(c));
  if (c.rfind("http://", 0) == 0 || c.rfind("https://", 0) == 0)
    return fmt::format(R"(<a href="{0}">{0}</a>)", html_escape(c));
  return html_escape(c);
}

std::string page(const std::string& lang, const config::SenderIdentity& brand,
                 const std::string& title, const std::string& lang_link, const std::string& body,
                 const std::string& footer_note) {
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
<footer>{}<p id="contact">{} {} {}</p></footer>
</body>
</html>
)",
      lang, html_escape(title), style(), html_escape(brand.name), lang_link, body, footer_note,
      t(lang, "お問い合わせ:", "Contact:"), html_escape(brand.name), contact_html(brand));
}

std::string checkbox(const std::string& name, const std::string& value, const std::string& id,
                     bool checked, const std::string& label) {
  return fmt::format(
      R"(<div class="opt"><input type="checkbox" id="{}" name="{}" value="{}"{}><label for="{}">{}</label></div>
)",
      id, name, value, checked ? " checked" : "", id, html_escape(label));
}

std::string channel_list(const std::string& lang, const std::vector<Channel>& cs) {
  std::string out;
  for (Channel c : cs) {
    if (!out.empty()) out += t(lang, "、", ", ");
    out += label(lang, to_string(c));
  }
  return out;
}

// The statements at the top: what goes out now, each one true of what `explain` decides.
std::string statements(const PreferencesView& v) {
  const std::string& lang = v.lang;
  std::string booking, marketing;
  if (v.nothing_sent) {
    booking = t(lang,
                "予約の確認やリマインダーなど、ご予約のご連絡もお送りしていません。予約の日時など"
                "のお知らせが届かないため、ご注意ください。",
                "Booking confirmations and reminders are not sent either: you may miss "
                "appointment notices.");
  } else if (v.booking_stopped || v.booking_channels.empty()) {
    booking = v.booking_stopped ? t(lang, "予約の確認やリマインダーはお送りしていません。",
                                    "Booking confirmations and reminders are not sent.")
                                : t(lang, "予約のご連絡をお届けできる方法が、現在ありません。",
                                    "We currently have no way to send you booking messages.");
  } else {
    booking = fmt::format(
        "{}{}{}",
        t(lang, "予約の確認やリマインダーなど、ご予約に必要なご連絡は引き続きお送りします（",
          "Booking confirmations and reminders are still sent ("),
        channel_list(lang, v.booking_channels), t(lang, "）。", ")."));
    if (!v.senders_out.empty()) {
      std::string names;
      for (const auto& n : v.senders_out) names += (names.empty() ? "" : t(lang, "、", ", ")) + n;
      booking += fmt::format("{}{}{}", t(lang, "ただし、", " Except from "), names,
                             t(lang, "からのご連絡は、ご予約に関するものも含めて停止しています。",
                               ": you stopped all of their messages, booking ones included."));
    }
  }
  if (v.nothing_sent)
    marketing = t(lang, "広告・キャンペーンなどのお知らせもお送りしていません。",
                  "No advertising or campaign messages are sent.");
  else if (v.marketing_out)
    marketing = t(lang, "広告・キャンペーンなどのお知らせは、すべて停止しています。",
                  "All advertising and campaign messages are stopped.");
  else if (v.marketing_channels.empty())
    marketing = t(lang, "広告・キャンペーンなどのお知らせは、現在どの方法でもお送りしていません。",
                  "No advertising or campaign messages are sent at the moment.");
  else
    marketing = fmt::format(
        "{}{}{}",
        t(lang,
          "広告・キャンペーンなどのお知らせは、下でチェックした種類を次の方法でお送りします: ",
          "Advertising and campaign messages of the kinds ticked below are sent by: "),
        channel_list(lang, v.marketing_channels), t(lang, "。", "."));
  std::string out = R"(<section class="card" id="status" aria-live="polite">)"
                    "\n";
  if (v.nothing_sent)
    out += fmt::format("<p id=\"status-all\"><strong>{}</strong></p>\n",
                       t(lang, "現在、すべてのお知らせの配信を停止しています。",
                         "You currently receive no messages from us."));
  out += fmt::format("<p id=\"status-booking\">{}</p>\n<p id=\"status-marketing\">{}</p>\n",
                     html_escape(booking), html_escape(marketing));
  return out + "</section>\n";
}

}  // namespace

std::string label(const std::string& lang, std::string_view key) {
  auto it = labels().find(std::string(key));
  return it == labels().end() ? std::string(key)
                              : std::string(t(lang, it->second.ja, it->second.en));
}

std::vector<std::string> page_purposes(const policy::Policy& p) {
  std::vector<std::string> out;
  for (std::string_view purpose : p.purposes())
    if (p.is_marketing(purpose)) out.emplace_back(purpose);
  return out;
}

std::string render_preferences_page(const PreferencesView& v) {
  const std::string& lang = v.lang;
  const std::string base = "/u/" + v.token;
  const std::string action =
      html_escape(base) + "/preferences" + std::string(lang == "en" ? "?lang=en" : "");
  const std::string lang_link =
      lang == "en"
          ? fmt::format(R"(<a href="{}" lang="ja" hreflang="ja">日本語</a>)", html_escape(base))
          : fmt::format(R"(<a href="{}?lang=en" lang="en" hreflang="en">English</a>)",
                        html_escape(base));
  std::string body;
  body +=
      fmt::format("<h1>{}</h1>\n", t(lang, "メール・通知の配信設定", "Your message preferences"));
  if (v.saved)
    body += fmt::format(R"(<p class="notice" role="status">{}</p>)",
                        t(lang, "設定を保存しました。", "Your settings have been saved.")) +
            "\n";
  body += statements(v);

  // The link's own kind of message: one button, nothing to read through first.
  if (!v.link_purpose.empty()) {
    const std::string kind = label(lang, v.link_purpose);
    if (v.link_purpose_out)
      body += fmt::format(R"(<p class="card" id="link-scope">{}{}{}</p>)", t(lang, "「", "\u201c"),
                          html_escape(kind),
                          t(lang, "」の配信は停止しています。", "\u201d messages are stopped.")) +
              "\n";
    else
      body += fmt::format(
          R"(<form class="card" id="link-scope" method="post" action="{}">
<input type="hidden" name="form" value="prefs-v2"><input type="hidden" name="stop_link_scope" value="1">
<p>{}</p>
<button type="submit" class="secondary">{}{}{}</button>
</form>
)",
          action,
          t(lang, "このメッセージと同じ種類のお知らせだけを止めるには:",
            "To stop only messages of this kind:"),
          t(lang, "「", "Stop \u201c"), html_escape(kind),
          t(lang, "」を停止する", "\u201d messages"));
  }

  body += fmt::format(R"(<form method="post" action="{}" id="prefs">
<input type="hidden" name="form" value="prefs-v2">
<p>{}</p>
)",
                      action,
                      t(lang,
                        "受け取りたい広告・キャンペーンなどのお知らせと、受け取る方法にチェックを入"
                        "れ、「保存する」を押してください。チェックを外したものは停止します。",
                        "Tick the kinds of advertising and campaign messages you want and how we "
                        "may send them, then press Save. Unticked items stop."));
  body +=
      fmt::format("<fieldset>\n<legend>{}</legend>\n<p class=\"hint\">{}</p>\n",
                  t(lang, "お知らせの種類", "Kinds of message"),
                  t(lang, "広告・宣伝を含むお知らせです。", "Messages that advertise or promote."));
  for (const auto& b : v.purposes)
    body +=
        checkbox("purpose", b.purpose, "purpose-" + b.purpose, b.ticked, label(lang, b.purpose));
  body += "</fieldset>\n";
  body +=
      fmt::format("<fieldset>\n<legend>{}</legend>\n", t(lang, "受け取る方法", "How we reach you"));
  std::string resumable;
  for (const auto& b : v.channels) {
    const std::string c(to_string(b.channel));
    body += checkbox("channel", c, "channel-" + c, b.ticked, label(lang, c));
    if (b.stopped_at_address)
      body += fmt::format(
          "<p class=\"hint\" id=\"channel-{}-stopped\">{}</p>\n", c,
          b.channel == Channel::sms
              ? std::string(t(lang,
                              "SMS に「停止」などと返信されたため、SMS は停止しています。再開する"
                              "には、当社からの SMS に「再開」または START と返信してください。",
                              "You replied STOP to one of our SMS, so SMS is stopped here; to "
                              "resume, reply START to one of our SMS."))
              : fmt::format("{}{}{}",
                            t(lang, "このアドレスへの配信は停止されています。再開するには ",
                              "Messages to this address are stopped; to resume, contact "),
                            html_escape(v.brand.contact), t(lang, " までご連絡ください。", ".")));
    if (b.can_resume) resumable = label(lang, c);
  }
  body += fmt::format(
      "<p class=\"hint\" id=\"channel-hint\">{}</p>\n</fieldset>\n",
      resumable.empty()
          ? std::string(
                t(lang, "ここでは配信の停止のみできます。", "Here you can only stop messages."))
          : fmt::format("{}{}{}", t(lang, "このリンクは「", "This link came by "),
                        html_escape(resumable),
                        t(lang, "」でお送りしたものです。ここで受け取りを始められるのは「",
                          ", so here you can start receiving only by ")) +
                html_escape(resumable) +
                t(lang, "」だけで、ほかの方法は停止のみできます。",
                  "; other ways can only be stopped."));
  body += fmt::format("<fieldset>\n<legend>{}</legend>\n",
                      t(lang, "広告・キャンペーンをすべて停止", "Stop all advertising"));
  body += checkbox("stop_marketing", "1", "stop-marketing", v.marketing_out,
                   t(lang, "広告・キャンペーンなどのお知らせをすべて停止する",
                     "Stop all advertising and campaign messages"));
  // Said only while it is true: under "stop everything" (or with no way to reach the person) no
  // reminder goes out either.
  if (!v.booking_channels.empty())
    body +=
        fmt::format("<p class=\"hint\">{}</p>\n",
                    t(lang, "予約の確認やリマインダーは、この設定にかかわらずお送りします。",
                      "Booking confirmations and reminders are sent whatever you choose here."));
  body += "</fieldset>\n";
  body += fmt::format(
      "<fieldset class=\"danger\">\n<legend>{}</legend>\n",
      t(lang, "予約のご連絡も含めてすべて停止", "Stop everything, booking messages too"));
  body += checkbox("stop_everything", "1", "stop-everything", v.all_out,
                   t(lang, "予約の確認・リマインダーも含め、すべてのお知らせを停止する",
                     "Stop all messages, booking confirmations and reminders included"));
  body += fmt::format("<p class=\"hint\">{}</p>\n</fieldset>\n",
                      t(lang,
                        "チェックすると、予約の確認やリマインダーも届かなくなり、予約の日時の変更"
                        "などのご連絡を受け取れなくなるおそれがあります。",
                        "If you tick this, booking confirmations and reminders stop too: you may "
                        "miss appointment notices."));
  // Sticky: Save stays on screen on a phone, however long the list of choices is.
  body += fmt::format(
      "<div class=\"savebar\"><button type=\"submit\" id=\"save\">{}</button></div>\n"
      "</form>\n",
      t(lang, "保存する", "Save"));
  return page(
      lang, v.brand, t(lang, "配信設定", "Message preferences"), lang_link, body,
      fmt::format("<p>{}</p>", t(lang, "この設定は、このリンクを受け取った方のみが変更できます。",
                                 "Only the person who received this link can change "
                                 "these settings.")));
}

std::string render_message_page(const std::string& lang, const config::SenderIdentity& brand,
                                const std::string& title_ja, const std::string& title_en,
                                const std::string& body_ja, const std::string& body_en) {
  const bool en = lang == "en";
  return page(
      lang, brand, en ? title_en : title_ja, "",
      fmt::format(
          "<h1>{}</h1>\n<div class=\"card\"><p>{}</p><p>{} {} {}</p></div>",
          html_escape(en ? title_en : title_ja), html_escape(en ? body_en : body_ja),
          t(lang, "ご不明な点は、こちらまでお問い合わせください:", "For help, please contact"),
          html_escape(brand.name), contact_html(brand)),
      "");
}

}  // namespace dispatcher::web
