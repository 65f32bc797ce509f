// Policy::evaluate: POLICY.md's rules 2–12, in its order, over the tables of the policy file.
// The rule order and the reason codes' spellings live here; every table lives in the file.
#include "policy/policy.hpp"

#include <date/tz.h>

#include <algorithm>

#include "policy/policy_tables.hpp"

namespace dispatcher::policy {

using Tables = Policy::Tables;

std::string_view to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::send:
      return "send";
    case Verdict::defer:
      return "defer";
    case Verdict::deny:
      return "deny";
  }
  return "?";
}

// ---- Tables lookups --------------------------------------------------------------------------

std::size_t Tables::purpose_index(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < purposes.size(); ++i)
    if (purposes[i] == name) return i;
  return npos;
}

std::size_t Tables::category_index(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < categories.size(); ++i)
    if (categories[i].name == name) return i;
  return npos;
}

std::size_t Tables::sender_kind_index(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < sender_kinds.size(); ++i)
    if (sender_kinds[i].name == name) return i;
  return npos;
}

Tables::Sender Tables::parse_sender(std::string_view sender) const noexcept {
  const std::size_t colon = sender.find(':');
  const bool has_id = colon != std::string_view::npos;
  const std::size_t kind = sender_kind_index(sender.substr(0, colon));
  if (kind == npos || sender_kinds[kind].takes_id != has_id) return {};
  if (has_id && colon + 1 == sender.size()) return {};  // "clinic:" names no clinic
  return {kind, has_id ? sender.substr(colon + 1) : std::string_view{}};
}

// ---- Policy ----------------------------------------------------------------------------------

Policy::Policy(std::unique_ptr<Tables> t) : tables_(std::move(t)) {}
Policy::Policy(Policy&&) noexcept = default;
Policy& Policy::operator=(Policy&&) noexcept = default;
Policy::~Policy() = default;

bool Policy::known_purpose(std::string_view purpose) const {
  return tables_->purpose_index(purpose) != Tables::npos;
}

bool Policy::is_marketing(std::string_view purpose) const {
  const std::size_t i = tables_->purpose_index(purpose);
  return i != Tables::npos && (tables_->marketing >> i & 1) != 0;
}

bool Policy::marketing_needs_consent(Channel c) const {
  return tables_->consent_channels[index(c)];
}

bool Policy::may_message_member(std::string_view sender, std::string_view purpose) const {
  const Tables& t = *tables_;
  const std::size_t p = t.purpose_index(purpose);
  const Tables::Sender s = t.parse_sender(sender);
  if (p == Tables::npos || s.kind == Tables::npos) return false;
  const bool limited = (t.clinic_member_senders >> s.kind & 1) != 0;
  return !limited || (t.clinic_member_purposes >> p & 1) != 0;
}

namespace {

// Rule 4's sender check: a non-member hears only from the senders the file lists, and from a
// kind that takes an id (a clinic) only when it is the contact's own.
bool own_nonmember(const Tables& t, const Tables::Sender& s, const Subscriber& r) {
  const Tables::KindMask kbit = Tables::KindMask{1} << s.kind;
  return (t.nonmember_senders & kbit) != 0 &&
         (!t.sender_kinds[s.kind].takes_id || s.id == r.clinic);
}

// Rule 8's relation: a clinic messages a member only when the member's `clinics` names it.
bool related_member(const Tables& t, const Tables::Sender& s, const Subscriber& r) {
  const Tables::KindMask kbit = Tables::KindMask{1} << s.kind;
  if ((t.clinic_member_senders & kbit) == 0 || !t.sender_kinds[s.kind].takes_id) return true;
  return std::find(r.clinics.begin(), r.clinics.end(), s.id) != r.clinics.end();
}

}  // namespace

std::string_view Policy::relation_denial(std::string_view sender, const Subscriber& r) const {
  const Tables& t = *tables_;
  const Tables::Sender s = t.parse_sender(sender);
  if (s.kind == Tables::npos) return "invalid_message:bad_sender";
  if (!r.member) return own_nonmember(t, s, r) ? "" : "nonmember_sender_not_permitted";
  return related_member(t, s, r) ? "" : "clinic_no_relation";
}

std::chrono::seconds Policy::cap_window() const { return tables_->cap_window; }
std::int64_t Policy::cap_count() const { return tables_->cap_max; }
std::string_view Policy::default_zone() const { return tables_->quiet_zone_name; }

std::vector<std::string_view> Policy::purposes() const {
  return {tables_->purposes.begin(), tables_->purposes.end()};
}

std::vector<std::string_view> Policy::categories() const {
  std::vector<std::string_view> out;
  out.reserve(tables_->categories.size());
  for (const Tables::Category& c : tables_->categories) out.emplace_back(c.name);
  return out;
}

bool Policy::known_category(std::string_view category) const {
  return tables_->category_index(category) != Tables::npos;
}

namespace {

Decision deny(std::string_view a, std::string_view b = {}) {
  Decision d;
  d.verdict = Verdict::deny;
  d.reason.reserve(a.size() + b.size());
  d.reason.append(a).append(b);
  return d;
}

// `scope` is "<prefix><value>", e.g. "purpose:advertising", compared without building it.
bool is_scope(std::string_view scope, std::string_view prefix, std::string_view value) noexcept {
  return scope.size() == prefix.size() + value.size() && scope.starts_with(prefix) &&
         scope.substr(prefix.size()) == value;
}

bool has_optout(const std::vector<std::string>& optouts, std::string_view prefix,
                std::string_view value) noexcept {
  for (const std::string& s : optouts)
    if (is_scope(s, prefix, value)) return true;
  return false;
}

// Rule 12: when `now` falls inside a quiet window in `zone`, the instant the window ends.
std::optional<TimePoint> quiet_until(const Tables& t, const date::time_zone* zone, TimePoint now) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(now);
  const date::sys_info info = zone->get_info(secs);
  const date::local_seconds local{secs.time_since_epoch() + info.offset};
  const date::local_days day = floor<date::days>(local);
  const minutes tod = floor<minutes>(local - day);
  for (const Tables::Window& w : t.quiet_windows) {
    if (!w.contains(tod)) continue;
    // A window crossing midnight that we are in before midnight ends tomorrow.
    const date::local_days end_day = (w.from > w.to && tod >= w.from) ? day + date::days{1} : day;
    // A window ending in a DST gap ends at the transition (choose never matters for gaps);
    // ending in a repeated hour, the earlier of the two instants.
    const auto end = zone->to_sys(end_day + w.to, date::choose::earliest);
    return time_point_cast<milliseconds>(end);
  }
  return std::nullopt;
}

const date::time_zone* zone_for(const Tables& t, std::string_view tz) noexcept {
  if (tz.empty() || tz == t.quiet_zone_name) return t.quiet_zone;
  try {
    return date::locate_zone(tz);
  } catch (...) {
    return t.quiet_zone;  // the parser checks zones; a stale record falls back to the default
  }
}

}  // namespace

std::string Policy::never_permitted(const Message& m, const Subscriber& r,
                                    std::span<const std::string> template_categories,
                                    TimePoint at) const {
  SubjectState permissive;
  permissive.consent.fill(true);
  Decision d = evaluate(Input{m, r, permissive, template_categories, at});
  if (d.verdict != Verdict::deny || d.reason.rfind("unreachable:", 0) == 0) return {};
  return std::move(d.reason);
}

std::string_view Policy::channel_refusal(const Subscriber& r, const SubjectState& st, Channel c,
                                         bool marketing) const {
  const Tables& t = *tables_;
  const std::size_t ci = index(c);
  if (!r.member && !t.nonmember_channels[ci])
    return "nonmember_channel_not_permitted:";  // rule 4's channel list
  if (has_optout(st.optouts, "channel:", to_string(c))) return "opted_out:channel:";
  if (marketing && has_optout(st.optouts, "marketing:channel:", to_string(c)))
    return "opted_out:marketing:channel:";
  if (marketing && t.consent_channels[ci] && !st.consent[ci]) return "no_consent:";
  if (!r.contact.has(c)) return "unreachable:";
  if (st.suppressed[ci]) return "address_suppressed:";
  return {};
}

Decision Policy::evaluate(const Input& in) const {
  const Tables& t = *tables_;
  const Message& m = in.message;
  const Subscriber& r = in.recipient;
  const SubjectState& st = in.state;

  // Rule 1 is the parser's; an unknown purpose or sender kind reaching this far is still never
  // sent (same reason codes as parse_message).
  const std::size_t purpose = t.purpose_index(m.purpose);
  if (purpose == Tables::npos) return deny("invalid_message:unknown_purpose");
  const Tables::PurposeMask pbit = Tables::PurposeMask{1} << purpose;
  const Tables::Sender sender = t.parse_sender(m.sender);
  if (sender.kind == Tables::npos) return deny("invalid_message:bad_sender");
  const Tables::KindMask kbit = Tables::KindMask{1} << sender.kind;

  // Rule 2: expired.
  if (m.expires_at && in.now >= *m.expires_at) return deny("expired");

  // Rule 3: erased / stopped (§4).
  if (st.erased) return deny("subject_erased");
  if (st.stopped_all) return deny("subject_stopped");
  for (const std::string& p : st.stopped_purposes)
    if (p == m.purpose) return deny("subject_stopped:", m.purpose);

  // Rule 4: non-members (§5(4)).
  if (!r.member) {
    if ((t.nonmember_purposes & pbit) == 0) return deny("nonmember_purpose_not_permitted");
    if (!own_nonmember(t, sender, r)) return deny("nonmember_sender_not_permitted");
  }

  // Rule 5: purpose of use (§1). The recipient's own contact data, then what the message
  // declares, then what its template's variables are tagged with.
  bool jointly_excluded = false;
  auto check_category = [&](std::size_t idx) {
    return idx != Tables::npos && (t.categories[idx].permits & pbit) != 0 &&
           (t.categories[idx].senders & kbit) != 0;
  };
  const std::size_t own_category = r.member ? t.member_category : t.nonmember_category;
  if (!check_category(own_category))
    return deny("purpose_not_permitted:", t.categories[own_category].name);
  jointly_excluded |= t.categories[own_category].jointly_excluded;
  for (const std::string& name : m.data_categories) {
    const std::size_t idx = t.category_index(name);
    if (!check_category(idx)) return deny("purpose_not_permitted:", name);
    jointly_excluded |= t.categories[idx].jointly_excluded;
  }
  for (const std::string& name : in.template_categories) {
    const std::size_t idx = t.category_index(name);
    if (!check_category(idx)) return deny("purpose_not_permitted:", name);
    jointly_excluded |= t.categories[idx].jointly_excluded;
  }

  // Rule 6: advertising is the operator's (§1 purpose 11).
  if ((t.operator_only_purposes & pbit) != 0 && (t.operator_only_senders & kbit) == 0)
    return deny("advertising_sender_not_operator");

  // Rule 7: joint use excludes sensitive data (§2).
  if ((t.joint_use_senders & kbit) != 0 && jointly_excluded)
    return deny("sensitive_not_jointly_used");

  // Rule 8: clinics message their members only for their own business (§3).
  if (r.member && (t.clinic_member_senders & kbit) != 0 && (t.clinic_member_purposes & pbit) == 0)
    return deny("clinic_purpose_not_permitted");
  // … and only members who have a relation with that clinic (the booking system's `clinics`).
  if (r.member && !related_member(t, sender, r)) return deny("clinic_no_relation");

  // Rule 9: opt-outs of the whole subject, in this order.
  if (has_optout(st.optouts, "all", {})) return deny("opted_out:all");
  if (has_optout(st.optouts, "sender:", m.sender)) return deny("opted_out:sender:", m.sender);
  if (has_optout(st.optouts, "purpose:", m.purpose)) return deny("opted_out:purpose:", m.purpose);
  const bool marketing = (t.marketing & pbit) != 0;
  if (marketing && has_optout(st.optouts, "marketing", {})) return deny("opted_out:marketing");

  // Rule 10: the first channel, in the message's order, that nothing passes over.
  std::optional<TimePoint> exhausted;  // the earliest a spent channel comes back
  Channel exhausted_channel{};
  std::optional<Channel> chosen;
  std::string_view first_reason;
  Channel first_channel{};
  for (Channel c : m.channels) {
    const std::size_t ci = index(c);
    std::string_view why = channel_refusal(r, st, c, marketing);
    if (const auto& until = in.exhausted_until[ci]; why.empty() && until && *until > in.now) {
      why = "channel_exhausted:";
      if (!exhausted || *until < *exhausted) {
        exhausted = *until;
        exhausted_channel = c;
      }
    }
    if (why.empty()) {
      chosen = c;
      break;
    }
    if (first_reason.empty()) {
      first_reason = why;
      first_channel = c;
    }
  }
  if (!chosen && exhausted) {
    Decision d;
    d.verdict = Verdict::defer;
    d.reason = "channel_exhausted:" + std::string(to_string(exhausted_channel));
    d.until = *exhausted;
    return d;
  }
  if (!chosen) {
    if (first_reason.empty()) return deny("invalid_message:no_channels");
    return deny(first_reason, to_string(first_channel));
  }

  // Rule 11: frequency cap.
  if (marketing && st.marketing_sent_in_window >= t.cap_max) return deny("frequency_capped");

  // Rule 12: quiet hours, on the channel rule 10 chose.
  const std::size_t ci = index(*chosen);
  const bool held = marketing ? t.quiet_channels[ci]
                              : t.quiet_reminders && (t.quiet_reminder_purposes & pbit) != 0 &&
                                    t.quiet_reminder_channels[ci];
  if (held && !t.quiet_windows.empty()) {
    if (auto until = quiet_until(t, zone_for(t, r.tz), in.now)) {
      Decision d;
      d.verdict = Verdict::defer;
      d.reason = "quiet_hours";
      d.until = *until;
      d.passed_over = first_reason;
      d.passed_over_channel = first_channel;
      return d;
    }
  }

  Decision d;
  d.verdict = Verdict::send;
  d.channel = *chosen;
  d.passed_over = first_reason;
  d.passed_over_channel = first_channel;
  return d;
}

}  // namespace dispatcher::policy
