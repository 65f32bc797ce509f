// Pure parts of the HTTP surface: forms, JSON depth, API keys,
// the metrics registry and the preferences page.
#include <gtest/gtest.h>

#include "dispatcher/provider_latency.hpp"
#include "policy/policy.hpp"
#include "web/api_keys.hpp"
#include "web/metrics.hpp"
#include "web/preferences_page.hpp"
#include "web/text.hpp"

namespace dispatcher::web {
namespace {

TEST(Form, DecodesPairsInOrderAndRejectsBadEscapes) {
  auto f = parse_form("List-Unsubscribe=One-Click");
  ASSERT_TRUE(f);
  ASSERT_EQ(f->size(), 1u);
  EXPECT_EQ((*f)[0].first, "List-Unsubscribe");
  EXPECT_EQ((*f)[0].second, "One-Click");
  auto g = parse_form("From=%2B819012345678&Body=%E9%85%8D%E4%BF%A1%E5%81%9C%E6%AD%A2&a=b+c&a=d");
  ASSERT_TRUE(g);
  EXPECT_EQ((*g)[0].second, "+819012345678");
  EXPECT_EQ((*g)[1].second, "配信停止");
  EXPECT_EQ((*g)[2].second, "b c");
  EXPECT_EQ((*g)[3].second, "d");
  EXPECT_FALSE(parse_form("a=%zz"));
  EXPECT_FALSE(parse_form("a=%4"));
  auto [path, q] = split_target("/u/abc?lang=en&saved=1");
  EXPECT_EQ(path, "/u/abc");
  EXPECT_EQ(q["lang"], "en");
}

TEST(JsonDepth, CountsNestingOutsideStrings) {
  EXPECT_FALSE(json_too_deep(R"({"a":[1,2,{"b":"[[[[[["}]})", 3));
  EXPECT_TRUE(json_too_deep("[[[[1]]]]", 3));
  EXPECT_FALSE(json_too_deep("[[[1]]]", 3));
  EXPECT_FALSE(json_too_deep(R"(["\"[[[[["])", 1));
  EXPECT_TRUE(json_too_deep(std::string(33, '[') + std::string(33, ']'), 32));
}

TEST(ApiKeys, StoresHashesAndAuthenticatesBearerKeys) {
  auto k = new_api_key("clinic:c-102");
  EXPECT_EQ(k.key.rfind("dsk_", 0), 0u);
  EXPECT_EQ(k.yaml_entry.find(k.key), std::string::npos) << "the entry holds the hash, not the key";
  ApiKeys keys = ApiKeys::parse(k.yaml_entry + "\n");
  ASSERT_EQ(keys.size(), 1u);
  auto who = keys.authenticate("Bearer " + k.key);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->sender, "clinic:c-102");
  EXPECT_EQ(who->clinic(), "c-102");
  EXPECT_FALSE(who->is_operator());
  EXPECT_FALSE(keys.authenticate(k.key));
  EXPECT_FALSE(keys.authenticate("Bearer wrong"));
  EXPECT_FALSE(keys.authenticate(""));
  EXPECT_THROW(ApiKeys::parse("- {sha256: xyz, sender: operator}"), std::runtime_error);
  EXPECT_THROW(ApiKeys::parse("- {sha256: " + sha256_hex("a") + ", sender: nobody}"),
               std::runtime_error);
  EXPECT_THROW(new_api_key("group:x"), std::runtime_error);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiKeys, BasicAuthCarriesTheKeyAsPasswordForWebhooks) {
  ApiKeys keys;
  keys.add(sha256_hex("dsk_test"), "operator");
  auto who = keys.authenticate("Basic ZXNwOmRza190ZXN0");  // esp:dsk_test
  ASSERT_TRUE(who);
  EXPECT_TRUE(who->is_operator());
  EXPECT_FALSE(keys.authenticate("Basic ZXNwOndyb25n"));  // esp:wrong
  EXPECT_FALSE(keys.authenticate("Basic ZHNrX3Rlc3Q="));  // no colon: the key is not a user name
  EXPECT_FALSE(keys.authenticate(
      "Basic eDpkc2tfdGVzdDE="));  // x:dsk_test1 (padding handled, not a prefix match)
  EXPECT_FALSE(keys.authenticate("Basic !!!!"));
  EXPECT_FALSE(keys.authenticate("Basic ZXNwOmRza190ZXN"));  // not a multiple of 4
  EXPECT_FALSE(keys.authenticate("Basic "));
}

TEST(Metrics, RendersDeclaredCountersAndGauges) {
  Metrics m;
  m.inc("dispatcher_http_requests_total", {{"route", "/healthz"}, {"status", "200"}});
  m.inc("dispatcher_http_requests_total", {{"route", "/healthz"}, {"status", "200"}});
  m.inc("dispatcher_intake_messages_total", {{"result", "accepted"}}, 5);
  EXPECT_EQ(m.value("dispatcher_http_requests_total", {{"route", "/healthz"}, {"status", "200"}}),
            2u);
  EXPECT_THROW(m.inc("undeclared"), std::logic_error);
  const std::string text = m.render({{"dispatcher_queue_depth", "Entries.", 7}});
  EXPECT_NE(text.find("# TYPE dispatcher_http_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("dispatcher_http_requests_total{route=\"/healthz\",status=\"200\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("dispatcher_intake_messages_total{result=\"accepted\"} 5\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE dispatcher_queue_depth gauge\ndispatcher_queue_depth 7\n"),
            std::string::npos);
  EXPECT_EQ(escape_label("a\"b\\c\n"), "a\\\"b\\\\c\\n");
}

TEST(Metrics, RendersAnExternalHistogramCumulatively) {
  Metrics m;
  Metrics::ExternalHistogram h{"dispatcher_provider_latency_seconds", "Latency.", {0.1, 1.0}, {}};
  h.series.push_back({{{"provider", "smtp-1"}, {"outcome", "accepted"}}, {2, 3, 1}, 4.5});
  const std::string text = m.render({}, {}, {h});
  EXPECT_NE(text.find("# TYPE dispatcher_provider_latency_seconds histogram\n"), std::string::npos)
      << text;
  for (const char* line :
       {"dispatcher_provider_latency_seconds_bucket{provider=\"smtp-1\",outcome=\"accepted\",le="
        "\"0.1\"} 2\n",
        "dispatcher_provider_latency_seconds_bucket{provider=\"smtp-1\",outcome=\"accepted\",le="
        "\"1\"} 5\n",
        "dispatcher_provider_latency_seconds_bucket{provider=\"smtp-1\",outcome=\"accepted\",le=\"+"
        "Inf\"} 6\n",
        "dispatcher_provider_latency_seconds_sum{provider=\"smtp-1\",outcome=\"accepted\"} 4.5\n",
        "dispatcher_provider_latency_seconds_count{provider=\"smtp-1\",outcome=\"accepted\"} 6\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
}

TEST(ProviderLatency, BucketsAndStatsFieldsRoundTrip) {
  using namespace dispatcher::latency;
  using std::chrono::microseconds;
  EXPECT_EQ(bucket_of(microseconds(1)), 0u);
  EXPECT_EQ(bucket_of(microseconds(1000)), 0u) << "a bound is inclusive (le)";
  EXPECT_EQ(bucket_of(microseconds(1001)), 1u);
  EXPECT_EQ(bucket_of(microseconds(60'000'000)), bounds.size()) << "+Inf";
  auto b = parse_field(bucket_field("twilio-1", "transient", 3));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->provider, "twilio-1");
  EXPECT_EQ(b->outcome, "transient");
  EXPECT_EQ(b->bucket, 3u);
  auto s = parse_field(sum_field("twilio-1", "accepted"));
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->bucket);
  EXPECT_FALSE(parse_field("sent\tsms"));
  EXPECT_FALSE(parse_field("latency\tp\taccepted\t99")) << "bucket out of range";
  EXPECT_FALSE(parse_field("latency\tp\taccepted\tx"));
  EXPECT_FALSE(parse_field("latency\t\taccepted\t1"));
}

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
