#include "channels/http_util.hpp"

#include <gtest/gtest.h>

namespace dispatcher::channels {
namespace {

using namespace std::chrono_literals;

TEST(RetryAfter, SecondsAndHttpDate) {
  const auto now =
      std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("120", now), 120'000ms);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now), 60'000ms);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), 0ms);
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
}

TEST(HttpUtil, Loopback) {
  EXPECT_TRUE(is_loopback_host(url_host("http://127.0.0.1:8080/x")));
  EXPECT_TRUE(is_loopback_host(url_host("http://[::1]:8080/x")));
  EXPECT_TRUE(is_loopback_host(url_host("smtp://user@localhost:25")));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_FALSE(is_loopback_host(url_host("http://127.0.0.1.evil.example/x")));
  EXPECT_FALSE(is_loopback_host(url_host("http://api.twilio.com/")));
  EXPECT_EQ(form_encode({{"To", "+81 9"}, {"Body", "a&b=c"}}), "To=%2B81%209&Body=a%26b%3Dc");
}

}  // namespace
}  // namespace dispatcher::channels
