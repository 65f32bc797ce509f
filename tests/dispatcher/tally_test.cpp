// One tally: the stats hash's fields and the run summary count the same pairs.
#include "dispatcher/tally.hpp"

#include <gtest/gtest.h>

#include "dispatcher/batch.hpp"

namespace dispatcher {
namespace {

Work with(Fate f) {
  Work w;
  w.fate = f;
  return w;
}

TEST(Tally, EachFateCountsAsOneOutcomeAndLabel) {
  EXPECT_FALSE(tally_key(with(Fate::pending)));

  Work sent = with(Fate::sent);
  sent.envelope.channel = Channel::sms;
  EXPECT_EQ(tally_field(*tally_key(sent)), "sent\tsms");

  Work denied = with(Fate::decided);
  denied.decision.verdict = policy::Verdict::deny;
  denied.decision.reason = "opted_out:all";
  EXPECT_EQ(tally_field(*tally_key(denied)), "denied\topted_out:all");

  Work deferred = with(Fate::decided);
  deferred.decision.verdict = policy::Verdict::defer;
  deferred.decision.reason = "quiet_hours";
  EXPECT_EQ(tally_field(*tally_key(deferred)), "deferred\tquiet_hours");

  Work dead = with(Fate::dead);
  dead.reason = "invalid_message:not_json";
  EXPECT_EQ(tally_field(*tally_key(dead)), "dead_letter\tinvalid_message:not_json");

  Work failed = with(Fate::failed);
  EXPECT_EQ(tally_field(*tally_key(failed)), "failed\tprovider_rejected");
  failed.suppress = true;
  EXPECT_EQ(tally_field(*tally_key(failed)), "failed\taddress_suppressed");

  Work retry = with(Fate::retry);
  retry.envelope.channel = Channel::email;
  EXPECT_EQ(tally_field(*tally_key(retry)), "retried\temail");
  EXPECT_EQ(tally_field(*tally_key(with(Fate::duplicate))), "duplicate\t");
}

TEST(Tally, SumsByOutcomeAndLabel) {
  Tally t;
  Work a = with(Fate::sent);
  a.envelope.channel = Channel::sms;
  Work b = with(Fate::sent);
  b.envelope.channel = Channel::email;
  t.add(a);
  t.add(a);
  t.add(b);
  t.add(with(Fate::pending));
  t.add(with(Fate::duplicate));
  EXPECT_EQ(t.total("sent"), 3);
  EXPECT_EQ(t.counts().at("sent").at("sms"), 2);
  EXPECT_EQ(t.total("duplicate"), 1);
  EXPECT_EQ(t.total("denied"), 0);
}

}  // namespace
}  // namespace dispatcher
