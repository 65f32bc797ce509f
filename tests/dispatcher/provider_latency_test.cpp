// The provider latency histogram's buckets and its stats-hash field names.
#include "dispatcher/provider_latency.hpp"

#include <gtest/gtest.h>

namespace dispatcher::latency {
namespace {

using std::chrono::microseconds;

TEST(ProviderLatency, BucketBoundsAreInclusiveUpperBounds) {
  EXPECT_EQ(bucket_of(microseconds(0)), 0u);
  EXPECT_EQ(bucket_of(microseconds(1000)), 0u);  // exactly 1 ms: le="0.001"
  EXPECT_EQ(bucket_of(microseconds(1001)), 1u);
  EXPECT_EQ(bucket_of(microseconds(2500)), 1u);
  EXPECT_EQ(bucket_of(microseconds(2501)), 2u);
  EXPECT_EQ(bucket_of(microseconds(1'000'000)), 9u);              // 1 s
  EXPECT_EQ(bucket_of(microseconds(30'000'000)), 13u);            // the last finite bound
  EXPECT_EQ(bucket_of(microseconds(30'000'001)), bounds.size());  // +Inf
  EXPECT_EQ(bucket_of(microseconds(3'600'000'000LL)), bounds.size());
}

TEST(ProviderLatency, EveryBoundFallsInItsOwnBucketAndJustAboveInTheNext) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    const auto us = static_cast<long long>(bounds[i] * 1e6 + 0.5);
    EXPECT_EQ(bucket_of(microseconds(us)), i) << bounds[i];
    EXPECT_EQ(bucket_of(microseconds(us + 1)), i + 1) << bounds[i];
  }
}

TEST(ProviderLatency, BucketFieldsRoundTrip) {
  for (std::size_t b = 0; b <= bounds.size(); ++b) {
    const std::string f = bucket_field("primary-smtp", "accepted", b);
    auto parsed = parse_field(f);
    ASSERT_TRUE(parsed) << f;
    EXPECT_EQ(parsed->provider, "primary-smtp");
    EXPECT_EQ(parsed->outcome, "accepted");
    ASSERT_TRUE(parsed->bucket);
    EXPECT_EQ(*parsed->bucket, b);
  }
  EXPECT_EQ(bucket_field("twilio", "transient", 3), "latency\ttwilio\ttransient\t3");
}

TEST(ProviderLatency, SumFieldsRoundTrip) {
  const std::string f = sum_field("twilio", "permanent");
  EXPECT_EQ(f, "latency_us\ttwilio\tpermanent");
  auto parsed = parse_field(f);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->provider, "twilio");
  EXPECT_EQ(parsed->outcome, "permanent");
  EXPECT_FALSE(parsed->bucket);
}

TEST(ProviderLatency, OtherStatsFieldsAreNotLatency) {
  for (const char* f :
       {"sent\tsms", "denied\topted_out:all", "", "latency", "latency\t", "latency\ttwilio",
        "latency\ttwilio\taccepted", "latency\ttwilio\taccepted\t", "latency\ttwilio\taccepted\t15",
        "latency\ttwilio\taccepted\t-1", "latency\ttwilio\taccepted\t1x",
        "latency\ttwilio\taccepted\t1\textra", "latency_us\ttwilio",
        "latency_us\ttwilio\taccepted\t3", "latency\t\taccepted\t1"})
    EXPECT_FALSE(parse_field(f)) << f;
}

TEST(ProviderLatency, BucketsAndStatsFieldsRoundTrip) {
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
}  // namespace dispatcher::latency
