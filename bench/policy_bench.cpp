// Policy::evaluate over a batch of 1000 varied messages (members and non-members, reminders and
// marketing, opt-outs, fallbacks, night and day, several zones), against the shipped policy.
// Reported per message: items_per_second, and per_message (time per message) as a counter.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "config/clock.hpp"
#include "policy/policy.hpp"

namespace {

using namespace dispatcher;
using namespace dispatcher::policy;

struct Item {
  Message message;
  Subscriber recipient;
  SubjectState state;
  std::vector<std::string> template_categories;
  TimePoint now;
};

std::vector<Item> make_batch(std::size_t n) {
  std::mt19937 rng(42);  // fixed: the same batch every run
  auto pick = [&](auto const& v) { return v[rng() % v.size()]; };
  const std::vector<std::string> purposes{
      "reservation", "reservation",    "reservation",    "support", "coupon_info", "campaign",
      "advertising", "recommendation", "product_notice", "auth",    "maintenance", "points"};
  const std::vector<std::string> senders{"operator",     "operator",     "operator",
                                         "clinic:c-102", "clinic:c-102", "clinic:c-102",
                                         "clinic:c-103", "group:epark"};
  const std::vector<std::string> tzs{"", "Asia/Tokyo", "Asia/Tokyo", "America/Los_Angeles",
                                     "Europe/London"};
  const std::vector<std::vector<std::string>> categories{
      {}, {}, {}, {}, {"usage_history"}, {"usage_history"}, {"behavior_history"}, {"sensitive"}};
  const std::vector<std::vector<Channel>> channel_orders{
      {Channel::push, Channel::sms, Channel::email},
      {Channel::email, Channel::sms},
      {Channel::sms, Channel::push},
      {Channel::email}};
  const TimePoint base = *parse_rfc3339("2026-11-30T00:00:00+09:00");

  // Mostly what producers really send (clinic reminders, operator marketing, replies, notices to
  // non-members), plus one in five drawn at random, which the early rules mostly stop.
  const std::vector<std::string> marketing{"coupon_info",    "campaign", "advertising",
                                           "recommendation", "points",   "survey"};
  std::vector<Item> batch(n);
  for (std::size_t i = 0; i < n; ++i) {
    Item& it = batch[i];
    it.message.id = "m-" + std::to_string(i);
    it.message.to = std::string("s-") + std::to_string(i);
    it.message.channels = pick(channel_orders);
    it.recipient.member = true;
    switch (rng() % 10) {
      case 0:
      case 1:
      case 2:  // a clinic's reminder
        it.message.sender = "clinic:c-102";
        it.message.purpose = "reservation";
        it.message.data_categories = {"usage_history"};
        it.message.expires_at = base + std::chrono::hours{rng() % 240};
        break;
      case 3:
      case 4:
      case 5:  // the operator's marketing
        it.message.sender = "operator";
        it.message.purpose = pick(marketing);
        if (it.message.purpose == "recommendation")
          it.message.data_categories = {"behavior_history"};
        break;
      case 6:  // a reply to an inquiry
        it.message.sender = "clinic:c-102";
        it.message.purpose = "support";
        it.message.data_categories = {"sensitive"};
        break;
      case 7:  // a non-member of c-102 hears from its clinic
        it.recipient.member = false;
        it.message.sender = "clinic:c-102";
        it.message.purpose = rng() % 2 ? "reservation" : "product_notice";
        break;
      default:  // anything at all
        it.recipient.member = rng() % 5 != 0;
        it.message.purpose = pick(purposes);
        it.message.sender = pick(senders);
        it.message.data_categories = pick(categories);
        if (rng() % 2 == 0) it.message.expires_at = base + std::chrono::hours{rng() % 240};
        break;
    }
    it.recipient.id = "s-" + std::to_string(i);
    it.recipient.clinic = it.recipient.member ? "" : "c-102";
    if (it.recipient.member) it.recipient.clinics = {"c-102"};  // the booking system's relation
    if (rng() % 5 != 0) it.recipient.contact.email = "a@example.jp";
    if (rng() % 5 != 0) it.recipient.contact.phone = "+819012345678";
    if (rng() % 3 != 0) it.recipient.contact.push = {{"fcm", "tok"}};
    it.recipient.tz = pick(tzs);
    if (rng() % 50 == 0) it.state.erased = true;
    if (rng() % 50 == 0) it.state.stopped_purposes = {"coupon_info"};
    switch (rng() % 8) {
      case 0:
        it.state.optouts = {"channel:sms"};
        break;
      case 1:
        it.state.optouts = {"purpose:advertising", "channel:email"};
        break;
      case 2:
        it.state.optouts = {"sender:clinic:c-102"};
        break;
      default:
        break;
    }
    for (std::size_t c = 0; c < channel_count; ++c) {
      it.state.consent[c] = rng() % 4 != 0;
      it.state.suppressed[c] = rng() % 20 == 0;
    }
    it.state.marketing_sent_in_window = rng() % 4;
    if (it.message.purpose == "reservation" && rng() % 3 == 0)
      it.template_categories = {"usage_history"};
    it.now = base + std::chrono::minutes{rng() % (48 * 60)};  // day and night
  }
  return batch;
}

void BM_PolicyEvaluate(benchmark::State& state) {
  const Policy policy = Policy::load(DISPATCHER_SOURCE_DIR "/config/policy.yaml");
  const std::vector<Item> batch = make_batch(1000);
  std::size_t sent = 0, deferred = 0, denied = 0;
  for (auto _ : state) {
    for (const Item& it : batch) {
      Decision d = policy.evaluate(
          Input{it.message, it.recipient, it.state, it.template_categories, it.now});
      benchmark::DoNotOptimize(d);
      sent += d.verdict == Verdict::send;
      deferred += d.verdict == Verdict::defer;
      denied += d.verdict == Verdict::deny;
    }
  }
  const double n = static_cast<double>(state.iterations()) * static_cast<double>(batch.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
  // Seconds per message; printed with an SI prefix ("250n" = 250 ns).
  state.counters["per_message"] = benchmark::Counter(
      static_cast<double>(batch.size()),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["send_pct"] = 100.0 * static_cast<double>(sent) / n;
  state.counters["defer_pct"] = 100.0 * static_cast<double>(deferred) / n;
  state.counters["deny_pct"] = 100.0 * static_cast<double>(denied) / n;
}
BENCHMARK(BM_PolicyEvaluate)->Unit(benchmark::kMicrosecond);

}  // namespace
