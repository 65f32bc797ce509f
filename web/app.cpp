#include "web/app.hpp"

#include <spdlog/spdlog.h>

#include <exception>

#include "web/intake.hpp"
#include "web/line_webhook.hpp"
#include "web/openapi.hpp"
#include "web/operations.hpp"
#include "web/services.hpp"
#include "web/subjects.hpp"
#include "web/unsubscribe.hpp"
#include "web/webhooks.hpp"

namespace dispatcher::web {

namespace {

using http::verb;

// Every route of the HTTP surface. The pattern is also the route's label in /metrics and logs.
constexpr Route kRoutes[] = {
    // intake.hpp
    {verb::post, "/v1/messages", post_messages},
    {verb::delete_, "/v1/messages/{id}", delete_message},
    {verb::get, "/v1/messages/{id}", get_message},
    // unsubscribe.hpp: the page, RFC 8058 one-click, the page's form
    {verb::get, "/u/{token}", get_unsubscribe},
    {verb::head, "/u/{token}", get_unsubscribe},
    {verb::post, "/u/{token}", post_one_click},
    {verb::post, "/u/{token}/preferences", post_preferences},
    // webhooks.hpp
    {verb::post, "/webhooks/sms/inbound", post_sms_inbound},
    {verb::post, "/webhooks/email/bounce", post_email_bounce},
    {verb::post, "/webhooks/status", post_delivery_status},
    {verb::post, "/webhooks/line", post_line_webhook},
    // subjects.hpp (operator key)
    {verb::get, "/v1/subjects/{subject}/history", get_subject_history},
    {verb::post, "/v1/subjects/{subject}/optout", post_subject_optout},
    {verb::post, "/v1/subjects/{subject}/optin", post_subject_optin},
    {verb::post, "/v1/subjects/{subject}/stop", post_subject_stop},
    {verb::post, "/v1/subjects/{subject}/erase", post_subject_erase},
    // operations.hpp
    {verb::get, "/healthz", get_healthz},
    {verb::get, "/metrics", get_metrics},
    // openapi.hpp: this table as a document (tests/web/openapi_test.cpp keeps the two one set)
    {verb::get, "/openapi.json", get_openapi},
};

}  // namespace

std::span<const Route> routes() { return kRoutes; }

App::App(boost::asio::io_context& io, const Runtime& rt, const ApiKeys& keys, const ServeOptions& o,
         redis::Endpoint redis, NowFn now)
    : services_(std::make_shared<Services>(io, rt, keys, o, std::move(redis), std::move(now))),
      router_(routes()) {}

App::~App() { close(); }

Metrics& App::metrics() { return services_->metrics; }

void App::close() { services_->redis.close(); }

void App::handle(Request req, const boost::asio::ip::address& remote, Respond respond) {
  auto x = std::make_shared<Exchange>(std::move(req), remote, std::move(respond), services_);
  auto m = router_.match(x->request().method(), x->path());
  x->set_route(m.label, std::move(m.params));
  if (!m.route) {
    if (!m.allow.empty()) return x->method_not_allowed(m.allow);
    return x->error(http::status::not_found, "not found");
  }
  // No exception may cross the loop: a handler that throws before its first round trip is
  // answered 500 here (the ones after are caught by Exchange::redis).
  try {
    m.route->handler(x);
  } catch (const std::exception& e) {
    spdlog::error("http {}: {}", m.label, e.what());
    x->error(http::status::internal_server_error, "internal error");
  }
}

}  // namespace dispatcher::web
