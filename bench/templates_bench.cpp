// Rendering speed: the engine on a short Japanese message and on a 20 KB HTML e-mail, the
// catalog's render_into on shipped templates, and SMS counting.
// Targets: < 0.5 µs for the short message, < 30 µs for the 20 KB e-mail.
#include <benchmark/benchmark.h>

#include <array>
#include <string>

#include "templates/catalog.hpp"
#include "templates/mustache.hpp"
#include "templates/sms_count.hpp"

namespace {

namespace mu = dispatcher::templates::mustache;
using nlohmann::json;

mu::Compiled compile_or_die(std::string_view source, mu::Partials& partials) {
  auto result = mu::compile(source, "bench", partials);
  if (auto* err = std::get_if<mu::CompileError>(&result)) {
    std::fprintf(stderr, "compile error at line %zu: %s\n", err->line, err->message.c_str());
    std::abort();
  }
  return std::move(std::get<mu::Compiled>(result));
}

// About 200 bytes of Japanese, five variables and a section.
constexpr std::string_view small_template =
    "【{{clinic_name}}】{{name}}様\n"
    "ご予約日時：{{starts_at}}\n"
    "{{#menu}}ご予約内容：{{menu}}\n{{/menu}}"
    "ご来院をお待ちしております。\n"
    "お問い合わせ：{{clinic_phone}}";

const json small_data = {{"clinic_name", "さくら歯科クリニック"},
                         {"name", "山田 花子"},
                         {"starts_at", "12月1日(火) 10:00"},
                         {"menu", "定期検診・クリーニング"},
                         {"clinic_phone", "03-1234-5678"}};

void BM_RenderSmallJapanese(benchmark::State& state) {
  mu::Partials partials;
  const mu::Compiled tpl = compile_or_die(small_template, partials);
  const std::array<const json*, 1> frames{&small_data};
  mu::RenderOptions options;
  options.strict = true;
  std::string out;
  for (auto _ : state) {
    out.clear();
    auto failure = mu::render(tpl, frames, options, out);
    benchmark::DoNotOptimize(failure);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["template_bytes"] = static_cast<double>(small_template.size());
  state.counters["output_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_RenderSmallJapanese);

// A 20 KB inline-styled HTML e-mail: a header, a table of details repeated, a list section.
std::string big_html_template() {
  std::string s =
      "<!DOCTYPE html>\n<html lang=\"ja\">\n<head><meta "
      "charset=\"utf-8\"><title>{{subject}}</title></head>\n"
      "<body style=\"margin:0;padding:0;background-color:#f2f4f6;\">\n"
      "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\">\n"
      "  <tr><td style=\"padding:20px 32px;border-bottom:3px solid "
      "#2a8fa8;font-size:18px;\">{{clinic_name}}</td></tr>\n"
      "  <tr><td style=\"padding:28px 32px;\">\n"
      "    <p style=\"margin:0 0 16px;\">{{name}}様</p>\n";
  int block = 0;
  while (s.size() < 19 * 1024) {
    s += "    <p style=\"margin:0 0 "
         "16px;line-height:1.8;color:#333333;\">いつも{{clinic_name}}をご利用いただき、"
         "誠にありがとうございます。ご予約の日時が近づいてまいりましたので、お知らせいたします。</"
         "p>\n"
         "    <table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" "
         "style=\"width:100%;border-collapse:collapse;\">\n"
         "      <tr><th align=\"left\" style=\"padding:10px 12px;border:1px solid "
         "#e3e8ec;background-color:#f5f8fa;\">"
         "ご予約日時</th><td style=\"padding:10px 12px;border:1px solid "
         "#e3e8ec;\">{{starts_at}}</td></tr>\n"
         "      <tr><th align=\"left\" style=\"padding:10px 12px;border:1px solid "
         "#e3e8ec;background-color:#f5f8fa;\">"
         "お電話</th><td style=\"padding:10px 12px;border:1px solid "
         "#e3e8ec;\">{{clinic_phone}}</td></tr>\n"
         "    </table>\n";
    if (++block % 3 == 0)
      s += "{{#items}}\n    <p style=\"margin:0 0 8px;\"><a href=\"{{url}}\" "
           "style=\"color:#2a8fa8;\">{{title}}</a></p>\n{{/items}}\n";
  }
  s += "    <p style=\"margin:24px 0;text-align:center;\"><a "
       "href=\"{{reservation_url}}\">ご予約内容の確認・変更</a></p>\n"
       "  </td></tr>\n"
       "  <tr><td "
       "style=\"font-size:12px;color:#6b7280;\">{{sender_name}}　お問い合わせ：{{sender_contact}}<"
       "br>\n"
       "  配信停止：<a href=\"{{unsubscribe_url}}\">{{unsubscribe_url}}</a></td></tr>\n"
       "</table>\n</body>\n</html>\n";
  return s;
}

void BM_RenderHtml20KB(benchmark::State& state) {
  const std::string source = big_html_template();
  mu::Partials partials;
  const mu::Compiled tpl = compile_or_die(source, partials);
  json data = small_data;
  data["subject"] = "【さくら歯科クリニック】ご予約日時のお知らせ";
  data["reservation_url"] = "https://d.example.jp/r/Ab3xYz?from=mail&lang=ja";
  data["items"] =
      json::array({{{"title", "歯周病を防ぐ毎日のケア"}, {"url", "https://d.example.jp/n/1"}},
                   {{"title", "正しい歯みがき <基本編>"}, {"url", "https://d.example.jp/n/2"}},
                   {{"title", "定期検診のすすめ"}, {"url", "https://d.example.jp/n/3"}}});
  const json injected = {{"sender_name", "EPARK歯科"},
                         {"sender_contact", "0120-123-456"},
                         {"unsubscribe_url", "https://d.example.jp/u/Xk29fPq8Lm3n"}};
  const std::array<const json*, 2> frames{&data, &injected};
  mu::RenderOptions options;
  options.escape = mu::Escape::html;
  options.strict = true;
  std::string out;
  for (auto _ : state) {
    out.clear();
    auto failure = mu::render(tpl, frames, options, out);
    benchmark::DoNotOptimize(failure);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["template_bytes"] = static_cast<double>(source.size());
  state.counters["output_bytes"] = static_cast<double>(out.size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_RenderHtml20KB);

void BM_Compile20KB(benchmark::State& state) {
  const std::string source = big_html_template();
  for (auto _ : state) {
    mu::Partials partials;
    auto result = mu::compile(source, "bench", partials);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_Compile20KB);

// The catalog path the dispatcher takes: shipped templates, injected values, SMS counting.
const dispatcher::templates::Catalog& shipped() {
  static const auto catalog = [] {
    dispatcher::templates::LoadOptions o;
    o.is_marketing = [](std::string_view) { return false; };
    o.known_purpose = [](std::string_view) { return true; };
    o.known_category = [](std::string_view) { return true; };
    return dispatcher::templates::Catalog::load(DISPATCHER_SOURCE_DIR "/templates", o);
  }();
  return catalog;
}

void render_shipped(benchmark::State& state, dispatcher::Channel channel) {
  const auto* tpl = shipped().find("reservation.reminder", "ja");
  json data = small_data;
  data["reservation_url"] = "https://d.example.jp/r/Ab3xYz";
  const json injected = {{"sender_name", "さくら歯科クリニック"},
                         {"sender_contact", "03-1234-5678"}};
  dispatcher::templates::Rendered out;
  for (auto _ : state) {
    auto err = tpl->render_into(channel, data, injected, out);
    benchmark::DoNotOptimize(err);
  }
}
void BM_CatalogReminderSms(benchmark::State& state) {
  render_shipped(state, dispatcher::Channel::sms);
}
void BM_CatalogReminderEmail(benchmark::State& state) {
  render_shipped(state, dispatcher::Channel::email);
}
BENCHMARK(BM_CatalogReminderSms);
BENCHMARK(BM_CatalogReminderEmail);

void BM_CountSmsJapanese(benchmark::State& state) {
  const std::string text =
      "【さくら歯科クリニック】山田 花子様、12月1日(火) 10:00にご予約を承っております。"
      "ご来院をお待ちしております。変更はお電話で 03-1234-5678";
  for (auto _ : state) benchmark::DoNotOptimize(dispatcher::templates::count_sms(text));
}
BENCHMARK(BM_CountSmsJapanese);

}  // namespace
