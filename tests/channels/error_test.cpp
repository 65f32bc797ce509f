#include "channels/error.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dispatcher::channels {
namespace {

TEST(ErrorKind, Names) {
  EXPECT_EQ(to_string(ErrorKind::none), "none");
  EXPECT_EQ(to_string(ErrorKind::network), "network");
  EXPECT_EQ(to_string(ErrorKind::timeout), "timeout");
  EXPECT_EQ(to_string(ErrorKind::client), "client");
  EXPECT_EQ(to_string(ErrorKind::server), "server");
}

TEST(ClassifyCurl, OkIsNone) { EXPECT_EQ(classify(CURLE_OK), ErrorKind::none); }

TEST(ClassifyCurl, NoAnswerInTimeIsTimeout) {
  EXPECT_EQ(classify(CURLE_OPERATION_TIMEDOUT), ErrorKind::timeout);
}

TEST(ClassifyCurl, CouldNotReachOrLostThePeerIsNetwork) {
  for (CURLcode c : {CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT,
                     CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE,
                     CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_SSL_CONNECT_ERROR, CURLE_AGAIN})
    EXPECT_EQ(classify(c), ErrorKind::network) << curl_easy_strerror(c);
}

TEST(ClassifyCurl, GarbageOrTooLargeAnswersAreTheServers) {
  for (CURLcode c : {CURLE_WEIRD_SERVER_REPLY, CURLE_WRITE_ERROR, CURLE_FILESIZE_EXCEEDED})
    EXPECT_EQ(classify(c), ErrorKind::server) << curl_easy_strerror(c);
}

TEST(ClassifyCurl, OurOwnMistakesAreClient) {
  // TLS verification, login, a bad URL, an unsupported protocol: retrying will not help.
  for (CURLcode c : {CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_LOGIN_DENIED,
                     CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL, CURLE_SSL_CERTPROBLEM,
                     CURLE_BAD_FUNCTION_ARGUMENT, CURLE_REMOTE_ACCESS_DENIED})
    EXPECT_EQ(classify(c), ErrorKind::client) << curl_easy_strerror(c);
}

TEST(ClassifyHttp, ByStatusClass) {
  for (long s : {200L, 201L, 202L, 204L, 299L, 301L, 302L, 304L, 399L})
    EXPECT_EQ(classify_http(s), ErrorKind::none) << s;
  for (long s : {400L, 401L, 403L, 404L, 409L, 413L, 422L, 429L, 499L})
    EXPECT_EQ(classify_http(s), ErrorKind::client) << s;
  for (long s : {500L, 502L, 503L, 504L, 599L}) EXPECT_EQ(classify_http(s), ErrorKind::server) << s;
}

TEST(ClassifyHttp, NoStatusMeansNoAnswerWasHad) { EXPECT_EQ(classify_http(0), ErrorKind::network); }

TEST(CurlCategory, WrapsCurlCodeAsAnErrorCode) {
  const std::error_code ok = make_error_code(CURLE_OK);
  EXPECT_FALSE(ok);
  const std::error_code ec = make_error_code(CURLE_COULDNT_CONNECT);
  EXPECT_TRUE(ec);
  EXPECT_EQ(ec.value(), static_cast<int>(CURLE_COULDNT_CONNECT));
  EXPECT_EQ(&ec.category(), &curl_category()) << "one category object";
  EXPECT_STREQ(ec.category().name(), "curl");
  EXPECT_EQ(ec.message(), curl_easy_strerror(CURLE_COULDNT_CONNECT));
  EXPECT_EQ(make_error_code(CURLE_OPERATION_TIMEDOUT).message(),
            curl_easy_strerror(CURLE_OPERATION_TIMEDOUT));
  EXPECT_NE(ec, make_error_code(CURLE_OPERATION_TIMEDOUT));
  EXPECT_NE(ec, std::error_code(static_cast<int>(CURLE_COULDNT_CONNECT), std::generic_category()))
      << "a curl code is not an errno";
}

}  // namespace
}  // namespace dispatcher::channels
