// A subject's requests (consent, opt-out/in, stop, erasure) as they land in a real Redis and a
// real PostgreSQL: the state the policy gate reads afterwards, and the audit record in the
// system of record that proves each one.
#include "store/subject_requests.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "store/redis/sync_client.hpp"
#include "store/subject_store.hpp"
#include "support/postgres_server.hpp"
#include "support/redis_server.hpp"

namespace dispatcher {
namespace {

using nlohmann::json;
using redis::cmd;
using redis::Command;
using redis::Reply;

TimePoint at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

class SubjectRequests : public ::testing::Test {
 protected:
  void SetUp() override {
    member_.id = "m-123";
    member_.member = true;
    member_.contact.email = "taro@example.jp";
    member_.contact.phone = "+819012345678";
    member_.contact.push = {{"fcm", "token-a"}, {"apns", "token-b"}};
    member_.contact.line = "U4af4980629a1b2c3d4e5f60718293a4b";
    run(put_subscriber(keys_, member_, secret_));
  }

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
  bool exists(const std::string& key) { return redis_.run(cmd("EXISTS", key)).integer == 1; }
  void apply(const SubjectChange& change) { apply_change(pg_, redis_, keys_, change); }
  // The subject's audit in the system of record, oldest first.
  std::vector<json> history(const std::string& subject) {
    std::vector<json> out;
    for (const auto& line : db_.history(subject)) out.push_back(json::parse(line));
    return out;
  }
  policy::SubjectState state_of(const std::string& subject, const Contact& c) {
    const AddressHashes h = hash_addresses(c, secret_);
    std::vector<Command> cmds;
    dispatcher::state_commands(keys_, subject, h, false, at("2026-01-01T00:00:00Z"), cmds);
    auto replies = run(cmds);
    return parse_state(replies.data(), replies.size(), h, false);
  }
  // Every key's name and value as text, to look for an address anywhere.
  std::string dump_everything() {
    std::string all;
    Reply keys = redis_.run(cmd("KEYS", "*"));
    for (const Reply& k : keys.elements) {
      all += k.str + "\n";
      const std::string type = redis_.run(cmd("TYPE", k.str)).str;
      Reply v;
      if (type == "hash")
        v = redis_.run(cmd("HGETALL", k.str));
      else if (type == "string")
        v = redis_.run(cmd("GET", k.str));
      else if (type == "stream")
        v = redis_.run(cmd("XRANGE", k.str, "-", "+"));
      else if (type == "zset")
        v = redis_.run(cmd("ZRANGE", k.str, "0", "-1"));
      std::function<void(const Reply&)> add = [&](const Reply& r) {
        all += r.str + "\n";
        for (const Reply& e : r.elements) add(e);
      };
      add(v);
    }
    return all;
  }

  testing_support::TempDir tmp_;
  testing_support::RedisServer server_{tmp_.path()};
  redis::SyncClient redis_ = server_.client();
  testing_support::TestDatabase db_;
  pg::Connection pg_ = db_.connect();
  Keys keys_;
  const std::string secret_ = std::string(64, 's');
  Subscriber member_;
  const TimePoint now_ = at("2026-11-25T01:02:03Z");
};

TEST_F(SubjectRequests, ANameWithAnAddressIsAnOpaqueContactKey) {
  SubjectRef by_id = resolve_subject("m-123", secret_);
  EXPECT_EQ(by_id.key, "m-123");
  EXPECT_EQ(by_id.address_hash, "");
  SubjectRef by_line = resolve_subject(member_.contact.line, secret_);
  EXPECT_EQ(by_line.address_hash, address_hash(member_.contact.line, secret_))
      << "a LINE user id names an address, as an e-mail or a number does";
  SubjectRef by_mail = resolve_subject("Taro@Example.jp", secret_);
  EXPECT_EQ(by_mail.address_hash, address_hash("taro@example.jp", secret_));
  EXPECT_EQ(by_mail.key, "contact:" + by_mail.address_hash);
  Contact c;
  c.email = "taro@example.jp";
  EXPECT_EQ(by_mail.key, inline_subject_key(c, secret_));  // where the pipeline looks
  SubjectRef by_phone = resolve_subject("+819012345678", secret_);
  EXPECT_EQ(by_phone.address_hash, address_hash("+819012345678", secret_));
  EXPECT_EQ(by_phone.key.find("9012345678"), std::string::npos);
}

TEST(SubjectName, AWrittenNumberNamesTheSubjectItsE164FormNames) {
  const std::string secret(64, 's');
  const SubjectRef e164 = resolve_subject("+819012345678", secret);
  for (const char* written : {"090-1234-5678", "09012345678", "+81 90 1234 5678",
                              "\uFF10\uFF19\uFF10\uFF0D\uFF11\uFF12\uFF13\uFF14\uFF0D\uFF15"
                              "\uFF16\uFF17\uFF18"}) {
    auto named = normalize_subject(written, "JP");
    ASSERT_TRUE(std::holds_alternative<std::string>(named)) << written;
    EXPECT_EQ(std::get<std::string>(named), "+819012345678") << written;
    const SubjectRef ref = resolve_subject(std::get<std::string>(named), secret);
    EXPECT_EQ(ref.key, e164.key) << written;
    EXPECT_EQ(ref.address_hash, e164.address_hash) << written;
  }
  Contact c;
  c.phone = "+819012345678";
  EXPECT_EQ(e164.key, inline_subject_key(c, secret)) << "where the pipeline looks";
  // Names that are not written as numbers are left as they are.
  for (const char* name :
       {"m-123", "12345", "Taro@Example.jp", "U4af4980629a1b2c3d4e5f60718293a4b"})
    EXPECT_EQ(std::get<std::string>(normalize_subject(name, "JP")), name);
  auto bad = normalize_subject("090-1234-567", "JP");
  ASSERT_TRUE(std::holds_alternative<Invalid>(bad));
  EXPECT_EQ(std::get<Invalid>(bad).reason, "invalid_phone");
  EXPECT_EQ(std::get<Invalid>(bad).detail.find("1234"), std::string::npos)
      << std::get<Invalid>(bad).detail;
}

TEST_F(SubjectRequests, ConsentRecordsWhenHowByWhomAndTheWording) {
  const SubjectRef s = resolve_subject("m-123", secret_);
  apply(consent_change(keys_, s, Channel::email,
                       {"preference_page", "marketing-consent-v3", "unsubscribe-page"}, now_));

  auto proof = json::parse(hash("dsp:state:m-123").at("consent:email"));
  EXPECT_EQ(parse_rfc3339(proof["time"].get<std::string>()), now_);
  EXPECT_EQ(proof["channel"], "email");
  EXPECT_EQ(proof["source"], "preference_page");
  EXPECT_EQ(proof["wording"], "marketing-consent-v3");
  EXPECT_EQ(proof["recorded_by"], "unsubscribe-page");

  auto h = history("m-123");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0]["event"], "consent");
  EXPECT_EQ(h[0]["subject"], "m-123");
  EXPECT_EQ(parse_rfc3339(h[0]["time"].get<std::string>()), now_);
  EXPECT_EQ(h[0]["channel"], "email");
  EXPECT_EQ(h[0]["source"], "preference_page");
  EXPECT_EQ(h[0]["wording"], "marketing-consent-v3");
  EXPECT_EQ(h[0]["recorded_by"], "unsubscribe-page");

  auto st = state_of("m-123", member_.contact);
  EXPECT_TRUE(st.consent[index(Channel::email)]);
  EXPECT_FALSE(st.consent[index(Channel::sms)]);  // consent is per channel
}

TEST_F(SubjectRequests, OptOutThenOptInOfASubscriber) {
  const SubjectRef s = resolve_subject("m-123", secret_);
  apply(optout_change(keys_, s, "purpose:advertising", true, "operator:alice", now_));
  EXPECT_EQ(parse_rfc3339(hash("dsp:state:m-123").at("optout:purpose:advertising")), now_);
  EXPECT_EQ(state_of("m-123", member_.contact).optouts,
            std::vector<std::string>{"purpose:advertising"});

  apply(optout_change(keys_, s, "purpose:advertising", false, "operator:alice",
                      now_ + std::chrono::hours(1)));
  EXPECT_EQ(hash("dsp:state:m-123").count("optout:purpose:advertising"), 0u);
  EXPECT_TRUE(state_of("m-123", member_.contact).optouts.empty());

  auto h = history("m-123");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0]["event"], "optout");
  EXPECT_EQ(h[0]["scope"], "purpose:advertising");
  EXPECT_EQ(h[0]["recorded_by"], "operator:alice");
  EXPECT_EQ(h[1]["event"], "optin");
  EXPECT_EQ(h[1]["scope"], "purpose:advertising");
  EXPECT_EQ(parse_rfc3339(h[1]["time"].get<std::string>()), now_ + std::chrono::hours(1));
}

TEST_F(SubjectRequests, AnOptOutByNumberHoldsForAnyoneReachedAtIt) {
  // An SMS STOP names only the number: the opt-out sits on the address as well, so it holds
  // for the stored member with that number and for an inline contact carrying it.
  const SubjectRef s = resolve_subject("+819012345678", secret_);
  apply(optout_change(keys_, s, "channel:sms", true, "webhook", now_));
  EXPECT_EQ(hash(keys_.state(s.key)).count("optout:channel:sms"), 1u);
  EXPECT_EQ(hash(keys_.address(s.address_hash)).count("optout:channel:sms"), 1u);
  EXPECT_EQ(state_of("m-123", member_.contact).optouts, std::vector<std::string>{"channel:sms"});
  Contact inline_contact;
  inline_contact.phone = "+819012345678";
  EXPECT_EQ(state_of(inline_subject_key(inline_contact, secret_), inline_contact).optouts,
            std::vector<std::string>{"channel:sms"});

  apply(optout_change(keys_, s, "channel:sms", false, "webhook", now_));
  EXPECT_TRUE(state_of("m-123", member_.contact).optouts.empty());
  EXPECT_FALSE(exists(keys_.address(s.address_hash)));
}

TEST_F(SubjectRequests, StopOfEverythingOrOfOnePurpose) {
  const SubjectRef s = resolve_subject("m-123", secret_);
  apply(stop_change(keys_, s, "survey", "operator:bob", now_));
  auto st = state_of("m-123", member_.contact);
  EXPECT_FALSE(st.stopped_all);
  EXPECT_EQ(st.stopped_purposes, std::vector<std::string>{"survey"});

  apply(stop_change(keys_, s, "", "operator:bob", now_));
  EXPECT_TRUE(state_of("m-123", member_.contact).stopped_all);
  EXPECT_EQ(parse_rfc3339(hash("dsp:state:m-123").at("stop:all")), now_);

  auto h = history("m-123");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0]["event"], "stop");
  EXPECT_EQ(h[0]["purpose"], "survey");
  EXPECT_EQ(h[0]["recorded_by"], "operator:bob");
  EXPECT_EQ(h[1]["event"], "stop");
  EXPECT_FALSE(h[1].contains("purpose"));
}

TEST_F(SubjectRequests, EraseRemovesContactDataAndLeavesMarkersOnSubjectAndEveryAddress) {
  const SubjectRef s = resolve_subject("m-123", secret_);
  apply(consent_change(keys_, s, Channel::sms, {"reservation_form", "v1", "clinic:c-102"}, now_));
  apply(optout_change(keys_, s, "channel:push", true, "operator", now_));
  run({cmd("ZADD", keys_.frequency("m-123"), "1", "1:ad-1")});
  const AddressHashes h = hash_addresses(member_.contact, secret_);
  run(suppress_commands(keys_, h.email, "email", "smtp", "550", now_));

  Reply record = redis_.run(cmd("HGETALL", keys_.subscriber("m-123")));
  apply(erase_change(keys_, s, record, "operator:carol", now_));

  // The stored record, consents, opt-outs and caps are gone; the marker stays.
  EXPECT_FALSE(exists(keys_.subscriber("m-123")));
  EXPECT_FALSE(exists(keys_.frequency("m-123")));
  auto state = hash(keys_.state("m-123"));
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(parse_rfc3339(state.at("erased")), now_);
  // Every address the subject had carries only the erasure marker.
  std::vector<std::string> hashes{h.email, h.phone, h.line};
  hashes.insert(hashes.end(), h.push.begin(), h.push.end());
  ASSERT_EQ(hashes.size(), 5u);
  for (const auto& a : hashes) {
    auto marker = hash(keys_.address(a));
    ASSERT_EQ(marker.size(), 1u) << a;
    EXPECT_EQ(marker.count("erased"), 1u) << a;
  }
  // The LINE webhook's way from a LINE id back to the subject is gone too.
  EXPECT_FALSE(exists(keys_.line_user(h.line)));

  // The policy answers subject_erased for the id and for every address, even when a producer
  // brings the contact back inline (rule 3 needs these markers, not the record).
  EXPECT_TRUE(state_of("m-123", member_.contact).erased);
  for (const auto& c : {Contact{"taro@example.jp", "", {}}, Contact{"", "+819012345678", {}},
                        Contact{"", "", {{"apns", "token-b"}}}}) {
    EXPECT_TRUE(state_of(inline_subject_key(c, secret_), c).erased);
  }

  // No copy of an address or token remains anywhere in Redis, nor in the audit.
  const auto audit = pg_.exec("SELECT coalesce(string_agg(record::text, ' '), '') FROM audit");
  std::string everything = dump_everything() + *audit.rows.at(0).at(0);
  for (const char* secret_bit : {"taro@example.jp", "9012345678", "token-a", "token-b"})
    EXPECT_EQ(everything.find(secret_bit), std::string::npos) << secret_bit;

  // The erasure is on the record, after the requests it supersedes.
  auto hist = history("m-123");
  ASSERT_FALSE(hist.empty());
  EXPECT_EQ(hist.back()["event"], "erase");
  EXPECT_EQ(hist.back()["recorded_by"], "operator:carol");
  EXPECT_EQ(parse_rfc3339(hist.back()["time"].get<std::string>()), now_);
}

TEST_F(SubjectRequests, EraseByAddressMarksTheAddressWithoutAStoredRecord) {
  const SubjectRef s = resolve_subject("hanako@example.jp", secret_);
  Reply none = redis_.run(cmd("HGETALL", keys_.subscriber(s.key)));
  apply(erase_change(keys_, s, none, "operator", now_));
  EXPECT_EQ(hash(keys_.address(s.address_hash)).count("erased"), 1u);
  EXPECT_EQ(hash(keys_.state(s.key)).count("erased"), 1u);
  Contact c;
  c.email = "Hanako@Example.jp";
  EXPECT_TRUE(state_of(inline_subject_key(c, secret_), c).erased);
  // The member stored earlier is someone else and is untouched.
  EXPECT_TRUE(exists(keys_.subscriber("m-123")));
  EXPECT_FALSE(state_of("m-123", member_.contact).erased);
}

}  // namespace
}  // namespace dispatcher
