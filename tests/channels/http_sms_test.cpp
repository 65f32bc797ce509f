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
