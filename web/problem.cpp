#include "web/problem.hpp"

namespace dispatcher::web {

nlohmann::json problem(boost::beast::http::status status, std::string_view detail,
                       std::string_view reason, nlohmann::json errors) {
  nlohmann::json doc = {{"type", "about:blank"},
                        {"title", std::string(boost::beast::http::obsolete_reason(status))},
                        {"status", static_cast<int>(status)},
                        {"detail", detail}};
  if (!reason.empty()) doc["reason"] = reason;
  if (!errors.is_null()) doc["errors"] = std::move(errors);
  return doc;
}

std::string problem_text(const nlohmann::json& doc) {
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace dispatcher::web
