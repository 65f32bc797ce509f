#include "channels/connect_probe.hpp"

#include <curl/curl.h>

#include <memory>

namespace dispatcher::channels {

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
  return r;
}

}  // namespace dispatcher::channels
