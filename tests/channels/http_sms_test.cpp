#include "channels/sms/http_sms.hpp"

#include <gtest/gtest.h>

#include "channels/support/sms.hpp"
#include "channels/support/standin.hpp"

namespace dispatcher::channels::sms {
namespace {

using namespace channels::testing;  // NOLINT
using namespace sms::testing;       // NOLINT
using nlohmann::json;
namespace asio = boost::asio;

curl::Response answer(long status, const std::string& body,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
  curl::Response r;
  r.status = status;
  r.kind = classify_http(status);
  r.body = body;
  r.headers = std::move(headers);
  return r;
}

HttpSmsSettings settings() {
  HttpSmsSettings s;
  s.id_field = "message_id";
  s.error_code_field = "error";
  s.suppress_codes = {"unsubscribed", "invalid_number"};
  return s;
}

TEST(HttpSmsClassify, AnyTwoHundredIsAcceptedWithTheConfiguredIdField) {
  const std::chrono::system_clock::time_point now{std::chrono::seconds(1'796'000'400)};
  Outcome o =
      classify_http_sms(answer(202, R"({"message_id":"abc-1","id":"other"})"), settings(), now);
  EXPECT_EQ(o.kind, OutcomeKind::accepted);
  EXPECT_EQ(o.provider_message_id, "abc-1");
  o = classify_http_sms(answer(200, R"({"message_id":12345})"), settings(), now);
  EXPECT_EQ(o.provider_message_id, "12345") << "a numeric id is kept as its digits";
}

TEST(HttpSmsClassify, ErrorCodesFromTheConfiguredField) {
  const std::chrono::system_clock::time_point now{std::chrono::seconds(1'796'000'400)};
  Outcome o = classify_http_sms(answer(400, R"({"error":"invalid_number"})"), settings(), now);
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_TRUE(o.suppress_address);
  o = classify_http_sms(answer(400, R"({"code":"invalid_number"})"), settings(), now);
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_FALSE(o.suppress_address) << "only the configured field names the error";
  o = classify_http_sms(answer(404, "not json"), settings(), now);
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_FALSE(o.suppress_address);
  EXPECT_NE(o.error.find("HTTP 404"), std::string::npos) << o.error;
}

TEST(HttpSmsClassify, BusyAndCredentialsAreTransient) {
  const std::chrono::system_clock::time_point now{std::chrono::seconds(1'796'000'400)};
  Outcome o = classify_http_sms(answer(429, "{}", {{"retry-after", "3"}}), settings(), now);
  EXPECT_EQ(o.kind, OutcomeKind::transient);
  EXPECT_EQ(o.retry_after, std::chrono::seconds(3));
  EXPECT_EQ(classify_http_sms(answer(503, ""), settings(), now).kind, OutcomeKind::transient);
  EXPECT_EQ(classify_http_sms(answer(401, R"({"error":"unsubscribed"})"), settings(), now).kind,
            OutcomeKind::transient)
      << "our credentials, not the number";
  curl::Response none;
  none.code = CURLE_OPERATION_TIMEDOUT;
  none.kind = ErrorKind::timeout;
  EXPECT_EQ(classify_http_sms(none, settings(), now).kind, OutcomeKind::transient);
}

TEST_F(SmsFixture, GenericJsonProvider) {
  json script;
  script["+819000000009"] = json::array({{{"status", 400}, {"body", {{"code", "unsubscribed"}}}}});
  script["+819000000008"] = json::array(
      {{{"status", 500}, {"body", {{"code", "oops"}}}, {"headers", {{"Retry-After", "5"}}}}});
  script["+819000000007"] = json::array({{{"status", 422}, {"body", {{"code", "too_long"}}}}});
  HttpStandin server(dir, "http_sms", &cert, script);
  HttpSmsProvider p("generic-sms", generic(server), multi);
  Outcome o = send_sync(io, p, sms("+819012345678"));
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  EXPECT_EQ(o.provider_message_id.rfind("gen-", 0), 0u);
  const auto r = server.requests().at(0);
  EXPECT_EQ(r["headers"]["x-api-key"], "key-123");
  EXPECT_EQ(json::parse(r["body"].get<std::string>()),
            (json{{"to", "+819012345678"}, {"message", sms("+1").sms_text}, {"from", "SAKURA"}}));
  o = send_sync(io, p, sms("+819000000009"));
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_TRUE(o.suppress_address);
  o = send_sync(io, p, sms("+819000000008"));
  EXPECT_EQ(o.kind, OutcomeKind::transient);
  EXPECT_EQ(o.retry_after, std::chrono::milliseconds(5000));
  o = send_sync(io, p, sms("+819000000007"));
  EXPECT_EQ(o.kind, OutcomeKind::permanent);
  EXPECT_FALSE(o.suppress_address);
}

}  // namespace
}  // namespace dispatcher::channels::sms
