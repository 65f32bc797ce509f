#include "channels/error.hpp"

#include <string>

namespace dispatcher::channels {

namespace {
class CurlCategory final : public KindedCategory {
 public:
  const char* name() const noexcept override { return "curl"; }
  std::string message(int c) const override { return curl_easy_strerror(static_cast<CURLcode>(c)); }
  ErrorKind kind(int c) const noexcept override { return classify(static_cast<CURLcode>(c)); }
};
class ChannelsCategory final : public KindedCategory {
 public:
  const char* name() const noexcept override { return "channels"; }
  std::string message(int c) const override {
    switch (static_cast<Errc>(c)) {
      case Errc::key_cannot_sign:
        return "JWT: the key cannot sign with SHA-256";
      case Errc::signing_failed:
        return "JWT: signing failed";
      case Errc::es256_needs_p256:
        return "JWT: ES256 needs a P-256 key";
    }
    return "channels: error " + std::to_string(c);
  }
  ErrorKind kind(int) const noexcept override { return ErrorKind::client; }
};

}  // namespace

const KindedCategory& channels_category() noexcept {
  static const ChannelsCategory category;
  return category;
}

const KindedCategory& curl_category() noexcept {
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
