// Provider latency buckets and the stats fields that carry them from the consumers to /metrics.
#include "dispatcher/provider_latency.hpp"

#include <gtest/gtest.h>

namespace dispatcher {
namespace {

TEST(ProviderLatency, BucketsAndStatsFieldsRoundTrip) {
  using namespace dispatcher::latency;
  using std::chrono::microseconds;
  EXPECT_EQ(bucket_of(microseconds(1)), 0u);
  EXPECT_EQ(bucket_of(microseconds(1000)), 0u) << "a bound is inclusive (le)";
  EXPECT_EQ(bucket_of(microseconds(1001)), 1u);
  EXPECT_EQ(bucket_of(microseconds(60'000'000)), bounds.size()) << "+Inf";
  auto b = parse_field(bucket_field("twilio-1", "transient", 3));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->provider, "twilio-1");
  EXPECT_EQ(b->outcome, "transient");
  EXPECT_EQ(b->bucket, 3u);
  auto s = parse_field(sum_field("twilio-1", "accepted"));
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->bucket);
  EXPECT_FALSE(parse_field("sent\tsms"));
  EXPECT_FALSE(parse_field("latency\tp\taccepted\t99")) << "bucket out of range";
  EXPECT_FALSE(parse_field("latency\tp\taccepted\tx"));
  EXPECT_FALSE(parse_field("latency\t\taccepted\t1"));
}

}  // namespace
}  // namespace dispatcher
