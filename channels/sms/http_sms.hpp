// SMS through a generic JSON-over-HTTPS provider: URL, auth header and field names from config.
// POST {url} with {"<to_field>": "+81…", "<text_field>": "…", "<from_field>": "…"}.
#pragma once

#include <chrono>
#include <set>
#include <string>

#include "channels/curl/multi.hpp"
#include "channels/provider.hpp"

namespace dispatcher::channels::sms {

struct HttpSmsSettings {
  std::string url;
  std::string auth_header = "Authorization";
  std::string auth_value;  // secret, e.g. "Bearer …" (from env or file)
  std::string from;
  std::string to_field = "to", text_field = "text", from_field = "from";
  std::string id_field = "id";            // provider message id in a 2xx answer
  std::string error_code_field = "code";  // error code in a 4xx answer
  std::set<std::string> suppress_codes;   // 4xx error codes that mean the number is dead
  std::string ca_file;
  std::chrono::milliseconds timeout{10'000};
};

// 2xx → accepted (id_field); 429/5xx → transient (Retry-After); 401/403 → transient (credentials);
// other 4xx → permanent, + suppress when the error code is one of suppress_codes.
Outcome classify_http_sms(const curl::Response& r, const HttpSmsSettings& s,
                          std::chrono::system_clock::time_point now);

class HttpSmsProvider final : public Provider {
 public:
  HttpSmsProvider(std::string name, HttpSmsSettings settings, curl::Multi& multi);

  std::vector<ConnectTarget> connect_targets() const override {
    return {{name(), settings_.url, settings_.ca_file, {}, {}, false}};
  }

 protected:
  void do_send(const Envelope& e, Completion done) override;

 private:
  HttpSmsSettings settings_;
  curl::Multi& multi_;
};

}  // namespace dispatcher::channels::sms
