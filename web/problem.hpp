// Every 4xx/5xx answer of the HTTP surface is an RFC 9457 problem document
// (`application/problem+json`, DESIGN.md "The HTTP surface"): one shape for every route, for the
// listener's own refusals (413, 431, a malformed request) and for intake's per-message errors.
#pragma once

#include <boost/beast/http/status.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace dispatcher::web {

inline constexpr std::string_view problem_content_type = "application/problem+json";

// {"type": "about:blank", "title": <the status's phrase>, "status", "detail"}, plus "reason" (a
// reason code of POLICY.md/DESIGN.md) when one names the fault, and "errors" when given (intake:
// [{"index", "reason", "detail"}]). "about:blank" because the status and the reason codes already
// say what happened; RFC 9457 §4.2.1 then asks for the status phrase as the title.
nlohmann::json problem(boost::beast::http::status status, std::string_view detail,
                       std::string_view reason = {}, nlohmann::json errors = nlohmann::json());

// The document as sent: compact, one line, never throwing on text that is not UTF-8.
std::string problem_text(const nlohmann::json& doc);

}  // namespace dispatcher::web
