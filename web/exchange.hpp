// One request in flight: what was asked, the route that took it, and the one way to answer it.
//
// An exchange owns itself, as a Beast session does: App hands it to a handler as a shared_ptr,
// and every Redis round trip started through redis() holds it until its completion has run, so
// no completion can find its request, its responder or the services gone. The first answer
// wins; each answer is counted in /metrics and logged once.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "store/pg/result.hpp"
#include "store/redis/reply.hpp"
#include "store/subject_requests.hpp"
#include "web/api_keys.hpp"
#include "web/router.hpp"

namespace dispatcher::web {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using Respond = std::function<void(Response)>;

struct Services;

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(Request req, boost::asio::ip::address remote, Respond respond,
           std::shared_ptr<Services> services);

  // What was asked.
  const Request& request() const noexcept { return req_; }
  const std::string& body() const noexcept { return req_.body(); }
  std::string_view header(http::field f) const;
  std::string_view header(std::string_view name) const;
  const boost::asio::ip::address& remote() const noexcept { return remote_; }
  const std::string& path() const noexcept { return path_; }
  const std::map<std::string, std::string>& query() const noexcept { return query_; }
  std::string lang() const;  // "en" for ?lang=en, else "ja"
  // The caller's API key from the Authorization header; nullopt when absent or unknown.
  std::optional<ApiKey> api_key() const;

  // The route that took it (App sets it): the label, and the {…} segments as sent.
  void set_route(std::string_view label, std::vector<std::string> params);
  const std::string& param(std::size_t i) const { return params_.at(i); }

  Services& services() const noexcept { return *services_; }

  // Answers.
  void send(http::status status, std::string body, std::string_view content_type);
  // JSON never throws here: a string that is not UTF-8 (an id from the path) is written with
  // U+FFFD rather than losing the answer.
  void json_reply(http::status status, const nlohmann::json& body);
  // An RFC 9457 problem document (web/problem.hpp): every error answer goes through these two.
  void error(http::status status, std::string_view message, std::string_view reason = {});
  void problem_reply(const nlohmann::json& doc);
  void redirect(const std::string& location);       // 303
  void method_not_allowed(std::string_view allow);  // 405 with Allow

  // One Redis round trip on the services' link. `done` runs once, on the loop, while this
  // exchange is kept alive; an exception escaping it is logged and answered 500 here, so none
  // crosses the loop.
  using RedisDone = std::function<void(std::error_code ec, std::vector<redis::Reply> replies)>;
  void redis(std::vector<redis::Command> cmds, RedisDone done);

  // A subject change (store/subject_requests.hpp): its audit rows in the system of record, then
  // its Redis commands; `done` as for redis() (an audit write that failed is its `ec`).
  void apply(SubjectChange change, RedisDone done);
  // One statement on the services' database connection, `done` kept as for redis().
  using RowsDone = std::function<void(std::error_code ec, pg::Rows rows)>;
  void db(std::string sql, std::vector<pg::Value> params, RowsDone done);

 private:
  Response start(http::status status) const;  // the headers every answer carries
  Response with_body(http::status status, std::string body, std::string_view content_type) const;
  void finish(Response res);

  Request req_;
  boost::asio::ip::address remote_;
  Respond respond_;
  std::shared_ptr<Services> services_;
  std::string path_;
  std::map<std::string, std::string> query_;
  std::string route_ = "unknown";
  std::vector<std::string> params_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  bool answered_ = false;
};

inline std::string_view sv(boost::beast::string_view s) { return {s.data(), s.size()}; }

}  // namespace dispatcher::web
