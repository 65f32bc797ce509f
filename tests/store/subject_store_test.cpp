// What Redis holds about subjects and addresses: the commands subject_store builds, run
// against a real redis-server, and what its parsers make of the replies.
#include "store/subject_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "store/redis/sync_client.hpp"
#include "support/redis_server.hpp"

namespace dispatcher {
namespace {

using redis::cmd;
using redis::Command;
using redis::Reply;

TimePoint at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

class SubjectStore : public ::testing::Test {
 protected:
  std::vector<Reply> run(const std::vector<Command>& cmds) {
    auto replies = redis_.exec(cmds);
    EXPECT_EQ(redis::first_error(cmds, replies), "");
    return replies;
  }
  std::map<std::string, std::string> hash(const std::string& key) {
    std::map<std::string, std::string> out;
    Reply r = redis_.run(cmd("HGETALL", key));
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
      out[r.elements[i].str] = r.elements[i + 1].str;
    return out;
  }
  // Runs state_commands() for one recipient and folds the replies, as the gate does.
  policy::SubjectState read_state(const std::string& subject, const AddressHashes& h,
                                  bool marketing, TimePoint window_start,
                                  std::vector<bool>* push_usable = nullptr) {
    std::vector<Command> cmds;
    const std::size_t n = state_commands(keys_, subject, h, marketing, window_start, cmds);
    EXPECT_EQ(n, cmds.size());
    auto replies = run(cmds);
    return parse_state(replies.data(), replies.size(), h, marketing, push_usable);
  }

  testing_support::TempDir tmp_;
  testing_support::RedisServer server_{tmp_.path()};
  redis::SyncClient redis_ = server_.client();
  Keys keys_;
  const std::string secret_ = std::string(64, 'k');
};

Subscriber taro() {
  Subscriber s;
  s.id = "m-123";
  s.member = true;
  s.contact.email = "Taro@Example.jp";
  s.contact.phone = "+819012345678";
  s.contact.push = {{"apns", "token-a"}, {"fcm", "token-b"}};
  s.contact.line = "U4af4980629a1b2c3d4e5f60718293a4b";
  s.locale = "ja";
  s.tz = "Asia/Tokyo";
  return s;
}

TEST_F(SubjectStore, PutSubscriberStoresTheRecordAndEveryAddressHash) {
  const Subscriber s = taro();
  run(put_subscriber(keys_, s, secret_));

  auto stored = hash("dsp:sub:m-123");
  EXPECT_EQ(stored.size(), 5u);
  EXPECT_EQ(stored["email_h"], address_hash("taro@example.jp", secret_));  // case-folded
  EXPECT_EQ(stored["phone_h"], address_hash("+819012345678", secret_));
  EXPECT_EQ(stored["line_h"], address_hash(s.contact.line, secret_));
  // The LINE webhook names users by LINE id only: the hash leads back to the subscriber.
  EXPECT_EQ(redis_.run(cmd("GET", keys_.line_user(stored["line_h"]))).str, "m-123");
  EXPECT_EQ(stored["push_h"],
            address_hash("token-a", secret_) + " " + address_hash("token-b", secret_));
  EXPECT_EQ(nlohmann::json::parse(stored["json"]), to_json(s));
  // Hashes, not addresses, name the address keys: nothing outside "json" holds the address.
  for (const auto& [field, value] : stored) {
    if (field == "json") continue;
    EXPECT_EQ(value.find("example.jp"), std::string::npos) << field;
    EXPECT_EQ(value.find("9012345678"), std::string::npos) << field;
  }
}

TEST_F(SubjectStore, TheHashesOfARecordAreWhatPutStored) {
  const Subscriber s = taro();
  run(put_subscriber(keys_, s, secret_));
  const AddressHashes h = hashes_of_record(redis_.run(cmd("HGETALL", "dsp:sub:m-123")));
  const AddressHashes want = hash_addresses(s.contact, secret_);
  EXPECT_EQ(h.email, want.email);
  EXPECT_EQ(h.phone, want.phone);
  EXPECT_EQ(h.line, want.line);
  EXPECT_EQ(h.push, want.push);
  EXPECT_TRUE(hashes_of_record(redis_.run(cmd("HGETALL", "dsp:sub:nobody"))).push.empty());
  Subscriber bare;
  bare.id = "m-2";
  bare.member = true;
  bare.contact.email = "b@example.jp";
  run(put_subscriber(keys_, bare, secret_));
  const AddressHashes b = hashes_of_record(redis_.run(cmd("HGETALL", "dsp:sub:m-2")));
  EXPECT_TRUE(b.phone.empty());
  EXPECT_TRUE(b.push.empty()) << "an empty push_h is no token";
}

TEST_F(SubjectStore, GetSubscriberReadsBackWhatPutStored) {
  const Subscriber s = taro();
  run(put_subscriber(keys_, s, secret_));
  auto back = parse_subscriber_reply(redis_.run(get_subscriber(keys_, "m-123")));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->id, "m-123");
  EXPECT_TRUE(back->member);
  EXPECT_EQ(back->contact.email, "Taro@Example.jp");
  EXPECT_EQ(back->contact.phone, "+819012345678");
  ASSERT_EQ(back->contact.push.size(), 2u);
  EXPECT_EQ(back->contact.push[1].platform, "fcm");
  EXPECT_EQ(back->contact.push[1].token, "token-b");
  EXPECT_EQ(back->tz, "Asia/Tokyo");
}

TEST_F(SubjectStore, PutSubscriberReplacesTheWholeRecord) {
  Subscriber s = taro();
  run(put_subscriber(keys_, s, secret_));
  s.contact.phone.clear();
  s.contact.push.clear();
  run(put_subscriber(keys_, s, secret_));
  auto stored = hash("dsp:sub:m-123");
  EXPECT_EQ(stored["phone_h"], "");
  EXPECT_EQ(stored["push_h"], "");
  auto back = parse_subscriber_reply(redis_.run(get_subscriber(keys_, "m-123")));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->contact.phone, "");
  EXPECT_TRUE(back->contact.push.empty());
}

TEST_F(SubjectStore, AnUnknownOrBrokenRecordIsNoSubscriber) {
  EXPECT_FALSE(parse_subscriber_reply(redis_.run(get_subscriber(keys_, "nobody"))));
  redis_.run(cmd("HSET", "dsp:sub:broken", "json", "{not json"));
  EXPECT_FALSE(parse_subscriber_reply(redis_.run(get_subscriber(keys_, "broken"))));
  redis_.run(cmd("HSET", "dsp:sub:invalid", "json", R"({"id":"invalid"})"));  // no "member"
  EXPECT_FALSE(parse_subscriber_reply(redis_.run(get_subscriber(keys_, "invalid"))));
}

TEST_F(SubjectStore, StateFoldsSubjectAndAddressMarkersIntoThePolicyView) {
  const Subscriber s = taro();
  const AddressHashes h = hash_addresses(s.contact, secret_);
  ASSERT_EQ(h.push.size(), 2u);
  run({cmd("HSET", "dsp:state:m-123", "optout:purpose:advertising", "t", "stop:purpose:survey", "t",
           "consent:email", "{}", "consent:fax", "{}", "optout:channel:sms", "t"),
       // An SMS STOP reply knows only the number: the opt-out sits on the address too.
       cmd("HSET", "dsp:addr:" + h.phone, "optout:channel:sms", "t"),
       cmd("HSET", "dsp:addr:" + h.email, "suppressed", "{}"),
       cmd("HSET", "dsp:addr:" + h.push[0], "suppressed", "{}")});

  std::vector<bool> push_usable;
  auto st = read_state("m-123", h, false, at("2026-11-18T00:00:00Z"), &push_usable);
  EXPECT_FALSE(st.erased);
  EXPECT_FALSE(st.stopped_all);
  EXPECT_EQ(st.stopped_purposes, std::vector<std::string>{"survey"});
  std::sort(st.optouts.begin(), st.optouts.end());
  EXPECT_EQ(st.optouts, (std::vector<std::string>{"channel:sms", "purpose:advertising"}));
  EXPECT_TRUE(st.consent[index(Channel::email)]);
  EXPECT_FALSE(st.consent[index(Channel::sms)]);
  EXPECT_TRUE(st.suppressed[index(Channel::email)]);
  EXPECT_FALSE(st.suppressed[index(Channel::sms)]);
  EXPECT_FALSE(st.suppressed[index(Channel::push)]);  // one token is still usable
  EXPECT_EQ(push_usable, (std::vector<bool>{false, true}));
}

TEST_F(SubjectStore, ALineUnfollowOnTheAddressAndASuppressedLineIdReachThePolicy) {
  const AddressHashes h = hash_addresses(taro().contact, secret_);
  ASSERT_FALSE(h.line.empty());
  run({cmd("HSET", "dsp:addr:" + h.line, "optout:channel:line", "t", "suppressed", "{}")});
  auto st = read_state("m-123", h, false, at("2026-11-18T00:00:00Z"));
  EXPECT_EQ(st.optouts, std::vector<std::string>{"channel:line"});
  EXPECT_TRUE(st.suppressed[index(Channel::line)]);
  EXPECT_FALSE(st.suppressed[index(Channel::sms)]);
}

TEST_F(SubjectStore, PushIsSuppressedOnlyWhenEveryTokenIs) {
  const AddressHashes h = hash_addresses(taro().contact, secret_);
  run({cmd("HSET", "dsp:addr:" + h.push[0], "suppressed", "{}"),
       cmd("HSET", "dsp:addr:" + h.push[1], "suppressed", "{}")});
  std::vector<bool> push_usable;
  auto st = read_state("m-123", h, false, at("2026-11-18T00:00:00Z"), &push_usable);
  EXPECT_TRUE(st.suppressed[index(Channel::push)]);
  EXPECT_EQ(push_usable, (std::vector<bool>{false, false}));
}

TEST_F(SubjectStore, AnErasureMarkerOnTheSubjectOrOnAnyAddressErases) {
  const AddressHashes h = hash_addresses(taro().contact, secret_);
  EXPECT_FALSE(read_state("m-123", h, false, at("2026-11-18T00:00:00Z")).erased);
  run({cmd("HSET", "dsp:addr:" + h.push[1], "erased", "t")});
  EXPECT_TRUE(read_state("m-123", h, false, at("2026-11-18T00:00:00Z")).erased);
  // Another subject reached at none of those addresses is not touched by it.
  Contact other;
  other.email = "hanako@example.jp";
  EXPECT_FALSE(
      read_state("m-9", hash_addresses(other, secret_), false, at("2026-11-18T00:00:00Z")).erased);
  run({cmd("HSET", "dsp:state:m-9", "erased", "t", "stop:all", "t")});
  auto st = read_state("m-9", hash_addresses(other, secret_), false, at("2026-11-18T00:00:00Z"));
  EXPECT_TRUE(st.erased);
  EXPECT_TRUE(st.stopped_all);
}

TEST_F(SubjectStore, MarketingCountsOnlySendsInsideTheWindow) {
  const AddressHashes h = hash_addresses(taro().contact, secret_);
  const TimePoint window_start = at("2026-11-18T00:00:00Z");
  const auto ms = [](TimePoint t) { return std::to_string(to_epoch_ms(t)); };
  run({cmd("ZADD", "dsp:freq:m-123", ms(window_start - std::chrono::hours(1)), "old",
           ms(window_start), "edge", ms(window_start + std::chrono::hours(30)), "recent",
           ms(window_start + std::chrono::hours(40)), "latest")});

  auto marketing = read_state("m-123", h, true, window_start);
  EXPECT_EQ(marketing.marketing_sent_in_window, 3);
  // A reminder does not ask for the count at all.
  std::vector<Command> cmds;
  const std::size_t n = state_commands(keys_, "m-123", h, false, window_start, cmds);
  EXPECT_EQ(n, 1u + 3u + h.push.size());  // state, e-mail, phone, LINE, each push token
  EXPECT_EQ(read_state("m-123", h, false, window_start).marketing_sent_in_window, 0);
}

TEST_F(SubjectStore, ARecipientWithoutAddressesIsNeverSuppressed) {
  Contact only_email;
  only_email.email = "hanako@example.jp";
  const AddressHashes h = hash_addresses(only_email, secret_);
  EXPECT_TRUE(h.phone.empty());
  // Even if something marked the placeholder key a missing address reads from.
  run({cmd("HSET", "dsp:addr:-", "suppressed", "{}")});
  auto st = read_state("contact:x", h, false, at("2026-11-18T00:00:00Z"));
  EXPECT_FALSE(st.suppressed[index(Channel::sms)]);
  EXPECT_FALSE(st.suppressed[index(Channel::push)]);
  EXPECT_FALSE(st.suppressed[index(Channel::email)]);
}

TEST_F(SubjectStore, SuppressionMarksTheAddressAndIndexesIt) {
  const AddressHashes h = hash_addresses(taro().contact, secret_);
  const TimePoint now = at("2026-11-25T03:00:00Z");
  run(suppress_commands(keys_, h.email, "email", "primary-smtp", "550 5.1.1 user unknown", now));

  auto record = nlohmann::json::parse(hash("dsp:addr:" + h.email)["suppressed"]);
  EXPECT_EQ(record["channel"], "email");
  EXPECT_EQ(record["provider"], "primary-smtp");
  EXPECT_EQ(record["error"], "550 5.1.1 user unknown");
  EXPECT_EQ(parse_rfc3339(record["time"].get<std::string>()), now);
  Reply score = redis_.run(cmd("ZSCORE", "dsp:suppressed", "email:" + h.email));
  EXPECT_EQ(score.str, std::to_string(to_epoch_ms(now)));

  auto st = read_state("m-123", h, false, at("2026-11-18T00:00:00Z"));
  EXPECT_TRUE(st.suppressed[index(Channel::email)]);
  EXPECT_FALSE(st.suppressed[index(Channel::sms)]);
}

TEST_F(SubjectStore, ValidScopesAreTheCliSpellings) {
  std::string error;
  for (const char* ok :
       {"all", "marketing", "channel:email", "channel:sms", "channel:push", "channel:line",
        "marketing:channel:email", "marketing:channel:line", "purpose:advertising",
        "sender:operator", "sender:clinic:c-102", "sender:group:g-1"}) {
    error.clear();
    EXPECT_TRUE(valid_scope(ok, error)) << ok;
    EXPECT_EQ(error, "") << ok;
  }
  for (const char* bad :
       {"", "everything", "channel:", "channel:fax", "purpose:", "sender:", "sender:nobody",
        "marketing:", "marketing:email", "marketing:channel:fax"}) {
    error.clear();
    EXPECT_FALSE(valid_scope(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  error.clear();
  valid_scope("channel:fax", error);
  EXPECT_NE(error.find("channel:email"), std::string::npos) << error;
}

}  // namespace
}  // namespace dispatcher
