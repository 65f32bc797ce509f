#include "web/exchange.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

#include "web/problem.hpp"
#include "web/services.hpp"
#include "web/text.hpp"

namespace dispatcher::web {

Exchange::Exchange(Request req, boost::asio::ip::address remote, Respond respond,
                   std::shared_ptr<Services> services)
    : req_(std::move(req)),
      remote_(remote),
      respond_(std::move(respond)),
      services_(std::move(services)) {
  auto [path, query] = split_target(sv(req_.target()));
  path_ = std::move(path);
  query_ = std::move(query);
}

std::string_view Exchange::header(http::field f) const { return sv(req_[f]); }
std::string_view Exchange::header(std::string_view name) const {
  return sv(req_[boost::beast::string_view(name.data(), name.size())]);
}

std::string Exchange::lang() const {
  auto it = query_.find("lang");
  return it != query_.end() && it->second == "en" ? "en" : "ja";
}

std::optional<ApiKey> Exchange::api_key() const {
  return services_->keys.authenticate(header(http::field::authorization));
}

void Exchange::set_route(std::string_view label, std::vector<std::string> params) {
  route_ = std::string(label);
  params_ = std::move(params);
}

Response Exchange::start(http::status status) const {
  Response res{status, req_.version()};
  res.set(http::field::cache_control, "no-store");
  res.set("Referrer-Policy", "no-referrer");
  return res;
}

void Exchange::finish(Response res) {
  answered_ = true;
  const int code = static_cast<int>(res.result());
  services_->metrics.inc("dispatcher_http_requests_total",
                         {{"route", route_}, {"status", std::to_string(code)}});
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started_);
  spdlog::info("http {} {} {} {}ms", sv(req_.method_string()), route_, code, ms.count());
  // Let go of the connection once answered: a round trip still pending (one Redis never
  // answered) keeps this exchange, not the session, alive.
  auto respond = std::exchange(respond_, nullptr);
  respond(std::move(res));
}

Response Exchange::with_body(http::status status, std::string body,
                             std::string_view content_type) const {
  Response res = start(status);
  res.set(http::field::server, "dispatcher");
  res.set(http::field::content_type, std::string(content_type));
  res.set("X-Content-Type-Options", "nosniff");
  if (content_type.rfind("text/html", 0) == 0)
    res.set("Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors "
            "'none'");
  res.body() = std::move(body);
  return res;
}

void Exchange::send(http::status status, std::string body, std::string_view content_type) {
  if (!answered_) finish(with_body(status, std::move(body), content_type));
}

void Exchange::json_reply(http::status status, const nlohmann::json& body) {
  send(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
       "application/json");
}

void Exchange::error(http::status status, std::string_view message, std::string_view reason) {
  problem_reply(problem(status, message, reason));
}

void Exchange::problem_reply(const nlohmann::json& doc) {
  send(static_cast<http::status>(doc.value("status", 500)), problem_text(doc),
       problem_content_type);
}

void Exchange::redirect(const std::string& location) {
  if (answered_) return;
  Response res = start(http::status::see_other);
  res.set(http::field::location, location);
  finish(std::move(res));
}

void Exchange::method_not_allowed(std::string_view allow) {
  if (answered_) return;
  Response res =
      with_body(http::status::method_not_allowed,
                problem_text(problem(http::status::method_not_allowed, "method not allowed")),
                problem_content_type);
  res.set(http::field::allow, std::string(allow));
  finish(std::move(res));
}

void Exchange::redis(std::vector<redis::Command> cmds, RedisDone done) {
  services_->redis.exec(std::move(cmds), [self = shared_from_this(), done = std::move(done)](
                                             std::error_code ec, std::vector<redis::Reply> r) {
    try {
      done(ec, std::move(r));
    } catch (const std::exception& e) {
      spdlog::error("http {}: {}", self->route_, e.what());
      self->error(http::status::internal_server_error, "internal error");
    }
  });
}

void Exchange::db(std::string sql, std::vector<pg::Value> params, RowsDone done) {
  services_->db->exec(
      std::move(sql), std::move(params),
      [self = shared_from_this(), done = std::move(done)](std::error_code ec, pg::Rows rows) {
        try {
          done(ec, std::move(rows));
        } catch (const std::exception& e) {
          spdlog::error("http {}: {}", self->route_, e.what());
          self->error(http::status::internal_server_error, "internal error");
        }
      });
}

void Exchange::apply(SubjectChange change, RedisDone done) {
  const Keys& k = services_->rt.keys;
  if (!change.writes_database(k)) return redis(std::move(change.redis), std::move(done));
  db(AuditBatch::insert_sql(), {change.audit_batch(k, services_->now()).param()},
     [self = shared_from_this(), cmds = std::move(change.redis), done = std::move(done)](
         std::error_code ec, pg::Rows) mutable {
       if (ec) return done(ec, {});
       if (cmds.empty()) return done({}, {});
       self->redis(std::move(cmds), std::move(done));
     });
}

}  // namespace dispatcher::web
