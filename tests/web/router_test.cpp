// The route table's matcher, and the surface's own table: 404 for a path no route has, 405 with the
// methods it takes, captures as sent, literal segments before captures, duplicates refused.
#include "web/router.hpp"

#include <gtest/gtest.h>

#include "web/app.hpp"
#include "web/intake.hpp"
#include "web/operations.hpp"
#include "web/subjects.hpp"
#include "web/unsubscribe.hpp"
#include "web/webhooks.hpp"

namespace dispatcher::web {
namespace {

using boost::beast::http::verb;

void a(const ExchangePtr&) {}
void b(const ExchangePtr&) {}
void c(const ExchangePtr&) {}

TEST(Router, MatchesMethodAndPatternAndCapturesSegmentsAsSent) {
  static constexpr Route table[] = {
      {verb::get, "/items/{id}", a}, {verb::delete_, "/items/{id}", b}, {verb::get, "/health", c}};
  const Router r(table);
  auto m = r.match(verb::get, "/items/a%2Fb");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->handler, &a);
  EXPECT_EQ(m.label, "/items/{id}");
  EXPECT_EQ(m.params, std::vector<std::string>{"a%2Fb"}) << "not decoded: each handler decides";
  EXPECT_EQ(r.match(verb::delete_, "/items/x").route->handler, &b);
  EXPECT_EQ(r.match(verb::get, "/health").route->handler, &c);
  EXPECT_EQ(r.match(verb::get, "//health/").route->handler, &c) << "empty segments are skipped";
}

TEST(Router, UnknownPathIsUnknownAndWrongMethodNamesTheAllowedOnes) {
  static constexpr Route table[] = {
      {verb::get, "/items/{id}", a}, {verb::delete_, "/items/{id}", b}, {verb::get, "/health", c}};
  const Router r(table);
  for (const char* path : {"/", "/nope", "/items", "/items/x/y", "/healthz", "/health/x"}) {
    auto m = r.match(verb::get, path);
    EXPECT_EQ(m.route, nullptr) << path;
    EXPECT_EQ(m.label, "unknown") << path;
    EXPECT_TRUE(m.allow.empty()) << path;
  }
  auto m = r.match(verb::put, "/items/x");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.label, "/items/{id}") << "counted under its route";
  EXPECT_EQ(m.allow, "GET, DELETE");
  EXPECT_EQ(r.match(verb::unknown, "/health").allow, "GET");
  EXPECT_EQ(r.match(verb::head, "/health").allow, "GET") << "HEAD only where a route lists it";
}

TEST(Router, ALiteralSegmentWinsOverACapture) {
  static constexpr Route table[] = {
      {verb::get, "/items/{id}", a}, {verb::get, "/items/count", b}, {verb::get, "/{any}/x", c}};
  const Router r(table);
  EXPECT_EQ(r.match(verb::get, "/items/count").route->handler, &b);
  EXPECT_EQ(r.match(verb::get, "/items/other").route->handler, &a);
  EXPECT_EQ(r.match(verb::post, "/items/count").allow, "GET");
  EXPECT_EQ(r.match(verb::get, "/items/x").route->handler, &a) << "the first literal decides";
}

TEST(Router, RefusesDuplicatesAndMalformedPatternsAtStartUp) {
  static constexpr Route twice[] = {{verb::get, "/a/{id}", a}, {verb::get, "/a/{id}", b}};
  EXPECT_THROW(Router{twice}, std::invalid_argument);
  static constexpr Route half[] = {{verb::get, "/a/x{id}", a}};
  EXPECT_THROW(Router{half}, std::invalid_argument);
  static constexpr Route relative[] = {{verb::get, "a", a}};
  EXPECT_THROW(Router{relative}, std::invalid_argument);
  static constexpr Route no_handler[] = {{verb::get, "/a", nullptr}};
  EXPECT_THROW(Router{no_handler}, std::invalid_argument);
}

TEST(Router, PathSegmentsSkipEmptyOnes) {
  EXPECT_EQ(path_segments("/v1//messages/x/"),
            (std::vector<std::string_view>{"v1", "messages", "x"}));
  EXPECT_TRUE(path_segments("/").empty());
  EXPECT_TRUE(path_segments("").empty());
}

// The surface's own table: every route of README's HTTP table reaches its family's handler.
TEST(Routes, TheTableRoutesEveryPathOfTheSurface) {
  const Router r(routes());
  struct Want {
    verb method;
    const char* path;
    Handler handler;
    const char* label;
  };
  const Want wants[] = {
      {verb::post, "/v1/messages", post_messages, "/v1/messages"},
      {verb::delete_, "/v1/messages/rsv-1", delete_message, "/v1/messages/{id}"},
      {verb::get, "/u/tok.en", get_unsubscribe, "/u/{token}"},
      {verb::head, "/u/tok.en", get_unsubscribe, "/u/{token}"},
      {verb::post, "/u/tok.en", post_one_click, "/u/{token}"},
      {verb::post, "/u/tok.en/preferences", post_preferences, "/u/{token}/preferences"},
      {verb::post, "/webhooks/sms/inbound", post_sms_inbound, "/webhooks/sms/inbound"},
      {verb::post, "/webhooks/email/bounce", post_email_bounce, "/webhooks/email/bounce"},
      {verb::post, "/webhooks/status", post_delivery_status, "/webhooks/status"},
      {verb::get, "/v1/subjects/m-1/history", get_subject_history,
       "/v1/subjects/{subject}/history"},
      {verb::post, "/v1/subjects/m-1/optout", post_subject_optout, "/v1/subjects/{subject}/optout"},
      {verb::post, "/v1/subjects/m-1/optin", post_subject_optin, "/v1/subjects/{subject}/optin"},
      {verb::post, "/v1/subjects/%2B819012345678/stop", post_subject_stop,
       "/v1/subjects/{subject}/stop"},
      {verb::post, "/v1/subjects/m-1/erase", post_subject_erase, "/v1/subjects/{subject}/erase"},
      {verb::get, "/healthz", get_healthz, "/healthz"},
      {verb::get, "/metrics", get_metrics, "/metrics"},
  };
  for (const Want& w : wants) {
    auto m = r.match(w.method, w.path);
    ASSERT_NE(m.route, nullptr) << w.path;
    EXPECT_EQ(m.route->handler, w.handler) << w.path;
    EXPECT_EQ(m.label, w.label) << w.path;
  }
  EXPECT_EQ(r.match(verb::put, "/healthz").allow, "GET");
  EXPECT_EQ(r.match(verb::get, "/v1/messages").allow, "POST");
  EXPECT_EQ(r.match(verb::put, "/u/tok.en").allow, "GET, HEAD, POST");
  EXPECT_EQ(r.match(verb::get, "/v1/subjects/m-1/optout").allow, "POST");
  EXPECT_EQ(r.match(verb::post, "/v1/subjects/m-1/history").allow, "GET");
  EXPECT_EQ(r.match(verb::post, "/v1/subjects/m-1/forget").route, nullptr);
  EXPECT_TRUE(r.match(verb::post, "/v1/subjects/m-1/forget").allow.empty());
  EXPECT_EQ(r.match(verb::get, "/v1/messages/x/y/z").label, "unknown");
}

}  // namespace
}  // namespace dispatcher::web
