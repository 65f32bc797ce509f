#include "web/line_webhook.hpp"

#include <nlohmann/json.hpp>

#include "codec/base64.hpp"
#include "codec/hmac.hpp"
#include "model/message.hpp"
#include "store/subject_requests.hpp"
#include "web/exchange.hpp"
#include "web/services.hpp"
#include "web/text.hpp"

namespace dispatcher::web {

using json = nlohmann::json;
using redis::cmd;
using redis::Command;
using redis::Reply;
namespace http = boost::beast::http;

std::string line_signature(std::string_view channel_secret, std::string_view body) {
  return base64(hmac_sha256(channel_secret, body));
}

bool line_signature_valid(std::string_view channel_secret, std::string_view body,
                          std::string_view header) {
  return !channel_secret.empty() && !header.empty() &&
         constant_time_equal(line_signature(channel_secret, body), header);
}

bool line_signature_valid(const std::vector<std::string>& secrets, std::string_view body,
                          std::string_view header) {
  for (const auto& secret : secrets)
    if (line_signature_valid(secret, body, header)) return true;
  return false;
}

std::variant<std::vector<LineEvent>, std::string> parse_line_events(std::string_view body,
                                                                    int json_depth_limit) {
  if (json_too_deep(body, json_depth_limit)) return std::string("too deep");
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("events") || !j["events"].is_array())
    return std::string("expected {\"destination\", \"events\": [...]}");
  std::vector<LineEvent> out;
  for (const json& e : j["events"]) {
    if (!e.is_object()) continue;
    const std::string type = e.contains("type") && e["type"].is_string() ? e["type"] : "";
    if (type != "follow" && type != "unfollow") continue;
    const json* source = e.contains("source") ? &e["source"] : nullptr;
    if (!source || !source->is_object() || !source->contains("userId") ||
        !(*source)["userId"].is_string())
      continue;
    std::string user = (*source)["userId"];
    if (!valid_line_user_id(user)) continue;
    out.push_back(LineEvent{type == "follow", std::move(user)});
  }
  return out;
}

std::vector<Command> line_lookup_commands(const Keys& k, std::string_view secret,
                                          const std::vector<LineEvent>& events) {
  std::vector<Command> out;
  out.reserve(events.size());
  for (const auto& e : events)
    out.push_back(cmd("GET", k.line_user(address_hash(e.user_id, secret))));
  return out;
}

std::vector<Command> line_check_commands(const Keys& k, const std::vector<Reply>& ids) {
  std::vector<Command> out;
  out.reserve(ids.size());
  // One reply per event keeps the steps aligned; an unknown user's is an empty string.
  for (const Reply& id : ids)
    out.push_back(id.is_string() ? cmd("HGET", k.subscriber(id.str), "line_h") : cmd("ECHO", ""));
  return out;
}

SubjectChange line_event_change(const Keys& k, std::string_view secret,
                                const std::vector<LineEvent>& events, const std::vector<Reply>& ids,
                                const std::vector<Reply>& line_hashes, TimePoint now) {
  SubjectChange out;
  for (std::size_t i = 0; i < events.size() && i < ids.size() && i < line_hashes.size(); ++i) {
    const std::string hash = address_hash(events[i].user_id, secret);
    if (!ids[i].is_string() || !line_hashes[i].is_string() || line_hashes[i].str != hash) continue;
    // On the member (history shows it) and on the address, like an SMS STOP.
    out.append(optout_change(k, SubjectRef{ids[i].str, hash}, "channel:line",
                             /*out_=*/!events[i].follow, "line_webhook", now));
  }
  return out;
}

namespace {

void answer(const ExchangePtr& x, const char* result, std::size_t n) {
  x->services().metrics.inc("dispatcher_webhooks_total", {{"kind", "line"}, {"result", result}},
                            n ? n : 1);
  x->json_reply(http::status::ok, json::object());
}

void unavailable(const ExchangePtr& x) {
  x->error(http::status::service_unavailable, "unavailable, please retry");
}

}  // namespace

void post_line_webhook(const ExchangePtr& x) {
  const Services& s = x->services();
  // No channel secret, no route: nothing unsigned is ever trusted.
  if (s.options.line_channel_secrets.empty())
    return x->error(http::status::not_found, "no such route");
  if (!line_signature_valid(s.options.line_channel_secrets, x->body(),
                            x->header("X-Line-Signature")))
    return x->error(http::status::forbidden, "bad or missing X-Line-Signature");
  auto parsed = parse_line_events(x->body(), s.options.json_depth_limit);
  if (auto* why = std::get_if<std::string>(&parsed))
    return x->error(http::status::bad_request, *why);
  auto events = std::make_shared<std::vector<LineEvent>>(std::move(std::get<0>(parsed)));
  if (events->empty()) return answer(x, "ignored", 0);
  x->redis(line_lookup_commands(s.rt.keys, s.rt.secret, *events),
           [x, events](std::error_code ec, std::vector<Reply> ids) {
             if (ec) return unavailable(x);
             const Services& s = x->services();
             // Built before `ids` moves into the completion (argument order is unspecified).
             auto check = line_check_commands(s.rt.keys, ids);
             x->redis(std::move(check), [x, events, ids = std::move(ids)](
                                            std::error_code ec, std::vector<Reply> hashes) {
               if (ec) return unavailable(x);
               const Services& s = x->services();
               auto change =
                   line_event_change(s.rt.keys, s.rt.secret, *events, ids, hashes, s.now());
               if (change.redis.empty() && change.audit.empty())
                 return answer(x, "ignored", events->size());
               x->apply(std::move(change), [x, events](std::error_code ec, std::vector<Reply>) {
                 if (ec) return unavailable(x);
                 answer(x, "recorded", events->size());
               });
             });
           });
}

}  // namespace dispatcher::web
