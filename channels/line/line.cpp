#include "channels/line/line.hpp"

#include <nlohmann/json.hpp>

#include "channels/http_outcome.hpp"
#include "channels/http_util.hpp"
#include "codec/hex.hpp"
#include "codec/hmac.hpp"
#include "codec/mask.hpp"

namespace dispatcher::channels::line {

namespace {

bool is_lower_hex(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// LINE's own message, for an error sentence: user, group and room ids become "<line id>", then
// addresses and numbers go as everywhere (redact).
std::string scrubbed(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (i + 33 <= text.size() && line_recipient_form(text.substr(i, 33))) {
      out += "<line id>";
      i += 33;
    } else {
      out += text[i++];
    }
  }
  return redact(out, 160);
}

std::string refusal(long status) {
  switch (status) {
    case 400:
      return "invalid request";
    case 401:
      return "invalid channel access token";
    case 403:
      return "not permitted for this channel";
    case 404:
      return "not found";
    case 413:
      return "request too large";
    default:
      return "client error";
  }
}

}  // namespace

std::string line_retry_key(std::string_view sender, std::string_view message_id) {
  std::string input("line-retry-key\0", 15);
  input.append(sender);
  input.push_back('\0');
  input.append(message_id);
  std::string b = sha256(input).substr(0, 16);
  b[6] = static_cast<char>((static_cast<unsigned char>(b[6]) & 0x0f) | 0x80);  // version 8
  b[8] = static_cast<char>((static_cast<unsigned char>(b[8]) & 0x3f) | 0x80);  // variant 10
  const std::string h = to_hex(b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

std::chrono::system_clock::time_point next_month_start_jst(
    std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  constexpr hours jst_offset{9};
  const year_month_day today{floor<days>(now + jst_offset)};
  const year_month first_of_next = year_month{today.year(), today.month()} + months{1};
  return sys_days{first_of_next / 1} - jst_offset;
}

bool line_recipient_form(std::string_view to) noexcept {
  if (to.size() != 33 || (to[0] != 'U' && to[0] != 'C' && to[0] != 'R')) return false;
  for (char c : to.substr(1))
    if (!is_lower_hex(c)) return false;
  return true;
}

std::string line_push_body(std::string_view to, std::string_view text) {
  nlohmann::json body{
      {"to", std::string(to)},
      {"messages", nlohmann::json::array({{{"type", "text"}, {"text", std::string(text)}}})}};
  // Invalid UTF-8 (never expected from the renderer) becomes U+FFFD instead of an exception.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Outcome classify_line(const curl::Response& r, std::chrono::system_clock::time_point now) {
  if (r.status == 0) return transport_failure(r);
  if (r.status == 200 || r.status == 409) {
    // 409: this retry key was accepted before (an earlier attempt that timed out or got a 5xx
    // was delivered); the message is out, once.
    Outcome o;
    o.kind = OutcomeKind::accepted;
    auto id = r.status == 409 ? r.header("x-line-accepted-request-id") : std::nullopt;
    if (!id) id = r.header("x-line-request-id");
    if (id) o.provider_message_id = std::string(*id);
    return o;
  }
  const auto body = nlohmann::json::parse(r.body, nullptr, false);
  std::string message;
  if (body.is_object() && body.contains("message") && body["message"].is_string())
    message = body["message"];
  if (r.status == 429) {
    if (message.find("monthly limit") != std::string::npos) {
      Outcome o;
      o.kind = OutcomeKind::transient;
      o.error = "LINE monthly message quota is spent (HTTP 429)";
      o.exhausted_until = next_month_start_jst(now);
      return o;
    }
    return transient_http(r, "LINE rate limit exceeded", now);
  }
  if (r.status >= 500) return transient_http(r, "LINE server error", now);
  std::string what = "LINE rejected the request (HTTP " + std::to_string(r.status) + ": " +
                     refusal(r.status) + ")";
  if (r.status == 400 && !message.empty()) what += ": " + scrubbed(message);
  return permanent(std::move(what));
}

LineProvider::LineProvider(std::string name, LineSettings settings, curl::Multi& multi, NowFn now)
    : Provider(std::move(name)),
      settings_(std::move(settings)),
      multi_(multi),
      now_(now ? std::move(now) : NowFn(system_now)) {
  settings_.base_url = without_trailing_slashes(std::move(settings_.base_url));
  url_ = settings_.base_url + "/v2/bot/message/push";
}

void LineProvider::do_send(const Envelope& e, Completion done) {
  if (!line_recipient_form(e.to))
    return complete_later(multi_.io(), std::move(done),
                          permanent("recipient is not a LINE user id"));
  const std::string& text = e.line_text.empty() ? e.text : e.line_text;
  if (text.empty())
    return complete_later(multi_.io(), std::move(done), permanent("the LINE text is empty"));
  curl::Request r;
  r.url = url_;
  r.body = line_push_body(e.to, text);
  r.headers = {"Authorization: Bearer " + settings_.channel_access_token,
               "Content-Type: application/json",
               "X-Line-Retry-Key: " + line_retry_key(e.sender, e.message_id)};
  r.ca_file = settings_.ca_file;
  r.timeout = settings_.timeout;
  r.max_response_bytes = 64 * 1024;
  multi_.perform(std::move(r), [alive = alive_token(), now = now_,
                                done = std::move(done)](curl::Response resp) mutable {
    if (alive.expired()) return;
    done(classify_line(resp, now()));
  });
}

}  // namespace dispatcher::channels::line
