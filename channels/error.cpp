#include "channels/error.hpp"

#include <string>

namespace dispatcher::channels {

std::string_view to_string(ErrorKind k) noexcept {
  switch (k) {
    case ErrorKind::none:
      return "none";
    case ErrorKind::network:
      return "network";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::client:
      return "client";
    case ErrorKind::server:
      return "server";
  }
  return "?";
}

namespace {
class CurlCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "curl"; }
  std::string message(int c) const override { return curl_easy_strerror(static_cast<CURLcode>(c)); }
};
}  // namespace

const std::error_category& curl_category() noexcept {
  static const CurlCategory category;  // function-local: constructed on first use, trivially safe
  return category;
}

ErrorKind classify(CURLcode c) noexcept {
  switch (c) {
    case CURLE_OK:
      return ErrorKind::none;
    case CURLE_OPERATION_TIMEDOUT:
      return ErrorKind::timeout;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_AGAIN:
      return ErrorKind::network;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_WRITE_ERROR:  // response over the size cap
    case CURLE_FILESIZE_EXCEEDED:
      return ErrorKind::server;
    default:
      return ErrorKind::client;  // TLS verification, login, bad URL, unsupported: our side
  }
}

ErrorKind classify_http(long status) noexcept {
  if (status >= 500) return ErrorKind::server;
  if (status >= 400) return ErrorKind::client;
  if (status == 0) return ErrorKind::network;
  return ErrorKind::none;
}

}  // namespace dispatcher::channels
