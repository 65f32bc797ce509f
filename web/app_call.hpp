// One request in flight inside App: the request, its route label, and the ways to answer it
// (each answer is counted in /metrics and logged once). Private to web/: App's handlers are
// spread over app.cpp (routing, intake, unsubscribe, subject requests), operations.cpp
// (health, metrics) and webhooks.cpp.
#pragma once

#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "web/app.hpp"
#include "web/metrics.hpp"

namespace dispatcher::web {

inline std::string_view sv(boost::beast::string_view s) { return {s.data(), s.size()}; }

inline bool is_loopback(const boost::asio::ip::address& a) {
  if (a.is_v4()) return a.to_v4().is_loopback();
  if (a.is_v6())
    return a.to_v6().is_loopback() || (a.to_v6().is_v4_mapped() && a.to_v6().to_v4().is_loopback());
  return false;
}

struct App::Call {
  Request req;
  boost::asio::ip::address remote;
  Respond respond;
  std::string route = "unknown";
  std::string path;
  std::map<std::string, std::string> query;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  Metrics* metrics = nullptr;
  bool answered = false;

  void send(http::status status, std::string body, std::string_view content_type) {
    if (answered) return;
    answered = true;
    Response res{status, req.version()};
    res.set(http::field::server, "dispatcher");
    res.set(http::field::content_type, std::string(content_type));
    res.set(http::field::cache_control, "no-store");
    res.set("Referrer-Policy", "no-referrer");
    res.set("X-Content-Type-Options", "nosniff");
    if (content_type.rfind("text/html", 0) == 0)
      res.set("Content-Security-Policy",
              "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors "
              "'none'");
    res.body() = std::move(body);
    const int code = static_cast<int>(status);
    metrics->inc("dispatcher_http_requests_total",
                 {{"route", route}, {"status", std::to_string(code)}});
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    spdlog::info("http {} {} {} {}ms", std::string(req.method_string()), route, code, ms.count());
    respond(std::move(res));
  }
  void json_reply(http::status status, const nlohmann::json& body) {
    send(status, body.dump() + "\n", "application/json");
  }
  void error(http::status status, std::string_view message) {
    json_reply(status, {{"error", message}});
  }
  void redirect(std::string location) {
    if (answered) return;
    answered = true;
    Response res{http::status::see_other, req.version()};
    res.set(http::field::location, location);
    res.set(http::field::cache_control, "no-store");
    res.set("Referrer-Policy", "no-referrer");
    metrics->inc("dispatcher_http_requests_total", {{"route", route}, {"status", "303"}});
    spdlog::info("http {} {} 303", std::string(req.method_string()), route);
    respond(std::move(res));
  }
  std::string lang() const {
    auto it = query.find("lang");
    return it != query.end() && it->second == "en" ? "en" : "ja";
  }
};

}  // namespace dispatcher::web
