// Shared by the policy tests: the shipped policy, a default scenario and its evaluation.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "config/clock.hpp"
#include "policy/policy.hpp"

namespace dispatcher::policy::testing {

inline std::string shipped_policy_path() { return DISPATCHER_SOURCE_DIR "/config/policy.yaml"; }

inline std::string shipped_policy_text() {
  std::ifstream in(shipped_policy_path());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline const Policy& shipped_policy() {
  static const Policy p = Policy::load(shipped_policy_path());
  return p;
}

// The shipped text with the first `from` replaced by `to` (the test fails if `from` is absent).
inline std::string edited(std::string text, std::string_view from, std::string_view to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "the policy file no longer contains: " << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

inline TimePoint at(std::string_view rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(TimePoint{});
}

// One message to one recipient: by default a member reachable everywhere, a clinic's reminder,
// in the Tokyo morning, nothing opted out.
struct Scenario {
  Message message;
  Subscriber recipient;
  SubjectState state;
  std::vector<std::string> template_categories;
  TimePoint now = at("2026-11-30T10:00:00+09:00");
  std::array<std::optional<TimePoint>, channel_count> exhausted_until{};

  Scenario() {
    message.id = "rsv-1";
    message.sender = "clinic:c-102";
    message.purpose = "reservation";
    message.to = std::string("m-123");
    message.channels = {Channel::push, Channel::sms, Channel::email};
    message.template_name = "reservation.reminder";
    recipient.id = "m-123";
    recipient.member = true;
    recipient.contact.email = "taro@example.jp";
    recipient.contact.phone = "+819012345678";
    recipient.contact.push = {{"apns", "tok-1"}};
    recipient.clinics = {"c-102"};  // the member has a relation with the sending clinic
    recipient.tz = "Asia/Tokyo";
  }

  // A non-member of clinic c-102.
  Scenario& nonmember() {
    recipient.id = "nm-77";
    recipient.member = false;
    recipient.clinic = "c-102";
    recipient.source = "patient_registry";
    return *this;
  }

  // A member who also has a LINE user id, for a message whose channels are `channels`.
  Scenario& with_line(std::vector<Channel> channels = {Channel::line, Channel::sms}) {
    recipient.contact.line = "U4af4980629a1b2c3d4e5f60718293a4b";
    message.channels = std::move(channels);
    return *this;
  }

  Decision evaluate(const Policy& p = shipped_policy()) const {
    Input in{message, recipient, state, template_categories, now};
    in.exhausted_until = exhausted_until;
    return p.evaluate(in);
  }
};

// What a case expects: "send:<channel>", "deny:<reason>" or "defer:<until RFC 3339 UTC>".
inline std::string summary(const Decision& d) {
  switch (d.verdict) {
    case Verdict::send:
      return "send:" + std::string(d.channel ? to_string(*d.channel) : "?");
    case Verdict::deny:
      return "deny:" + d.reason;
    case Verdict::defer:
      return "defer:" + d.reason + "@" + (d.until ? format_rfc3339(*d.until) : std::string("?"));
  }
  return "?";
}

struct Case {
  std::string name;
  std::function<void(Scenario&)> given;
  std::string expected;  // as summary() writes it
};

inline std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

}  // namespace dispatcher::policy::testing
