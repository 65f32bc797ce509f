#include "channels/connect_probe.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

namespace dispatcher::channels {

namespace {

std::size_t append_capped(char* data, std::size_t size, std::size_t n, void* out) {
  auto* s = static_cast<std::string*>(out);
  const std::size_t take =
      std::min(size * n, std::size_t{64 * 1024} - std::min(s->size(), std::size_t{64 * 1024}));
  s->append(data, take);
  return size * n;
}

// One read-only GET with the bearer token: the answer as compact JSON, or why not.
std::optional<std::string> get_report(const ConnectTarget& t, const std::string& path,
                                      std::chrono::milliseconds timeout, std::string& why) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> h(curl_easy_init(), curl_easy_cleanup);
  if (!h) {
    why = "curl_easy_init failed";
    return std::nullopt;
  }
  CURL* e = h.get();
  char errbuf[CURL_ERROR_SIZE] = {0};
  std::string body;
  const std::string url = t.url + path;
  const std::string auth = "Authorization: Bearer " + t.bearer;
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(
      curl_slist_append(nullptr, auth.c_str()), curl_slist_free_all);
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, append_capped);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
  if (!t.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, t.ca_file.c_str());
  const CURLcode code = curl_easy_perform(e);
  if (code != CURLE_OK) {
    why = errbuf[0] ? errbuf : curl_easy_strerror(code);
    return std::nullopt;
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (status != 200) {
    why = "HTTP " + std::to_string(status);
    if (j.is_object() && j.contains("message") && j["message"].is_string())
      why += ": " + j["message"].get<std::string>();
    return std::nullopt;
  }
  if (j.is_discarded()) {
    why = "the answer is not JSON";
    return std::nullopt;
  }
  return j.dump();
}

}  // namespace

ProbeResult probe_connection(const ConnectTarget& t, std::chrono::milliseconds timeout) {
  ProbeResult r;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> h(curl_easy_init(), curl_easy_cleanup);
  if (!h) {
    r.error = "curl_easy_init failed";
    return r;
  }
  CURL* e = h.get();
  char errbuf[CURL_ERROR_SIZE] = {0};
  // Only the scheme, host and port matter: CONNECT_ONLY stops after the connection (and, for
  // SMTP, the protocol's own connect phase, which is where AUTH happens).
  curl_easy_setopt(e, CURLOPT_URL, t.url.c_str());
  curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,smtp,smtps");
  if (!t.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, t.ca_file.c_str());
  if (!t.username.empty()) {
    curl_easy_setopt(e, CURLOPT_USERNAME, t.username.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, t.password.c_str());
  }
  if (t.require_tls) curl_easy_setopt(e, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  const auto started = std::chrono::steady_clock::now();
  const CURLcode code = curl_easy_perform(e);
  r.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 started);
  r.ok = code == CURLE_OK;
  if (!r.ok) r.error = errbuf[0] ? errbuf : curl_easy_strerror(code);
  for (const std::string& path : t.report_paths) {
    if (!r.ok) break;
    std::string why;
    auto body = get_report(t, path, timeout, why);
    if (!body) {
      r.ok = false;
      r.error = path + ": " + why;
      break;
    }
    r.report += (r.report.empty() ? "" : "; ") + path + ": " + *body;
  }
  return r;
}

}  // namespace dispatcher::channels
