#include "dispatcher/batch.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "dispatcher/cancellation.hpp"
#include "dispatcher/provider_latency.hpp"
#include "dispatcher/scheduler.hpp"
#include "dispatcher/tally.hpp"
#include "dispatcher/template_values.hpp"
#include "model/unsubscribe_token.hpp"
#include "store/dead_letters.hpp"
#include "store/hot_state.hpp"
#include "store/idempotency.hpp"

namespace dispatcher {

using redis::cmd;
using redis::Command;
using redis::Reply;

namespace {

void dead(Work& w, std::string reason, std::string detail) {
  w.fate = Fate::dead;
  w.reason = std::move(reason);
  w.detail = std::move(detail);
}

std::int64_t ttl_ms(const config::Config& c) {
  return static_cast<std::int64_t>(c.consumer.idempotency_ttl_days) * 86400000LL;
}

}  // namespace

void Gate::parse(Work& w) const {
  auto parsed = parse_message(w.payload, vocabulary_);
  if (auto* inv = std::get_if<Invalid>(&parsed)) return dead(w, inv->reason, inv->detail);
  w.msg = std::move(std::get<Message>(parsed));
  w.key = message_key(w.msg->sender, w.msg->id);
  w.marketing = rt_.policy && rt_.policy->is_marketing(w.msg->purpose);
}

Gate::ReplySpans Gate::resolve_commands(std::span<Work> batch, bool claim,
                                        std::vector<Command>& out) const {
  ReplySpans spans;
  spans.reserve(batch.size());
  for (Work& w : batch) {
    const std::size_t first = out.size();
    if (w.fate == Fate::pending) {
      if (claim)
        out.push_back(claim_command(rt_.keys, w.key, w.entry_id, ttl_ms(rt_.config)));
      else  // explain: only look whether the id was decided (or is being delivered)
        out.push_back(peek_command(rt_.keys, w.key));
      if (const auto* id = std::get_if<std::string>(&w.msg->to)) {
        out.push_back(get_subscriber(rt_.keys, *id));
        out.push_back(cmd("HGET", rt_.keys.state(*id), "erased"));
      } else {
        // An inline contact that is someone's stored record is that record: a clinic cannot
        // reach another's patient by declaring the address its own.
        const auto& c = std::get<InlineRecipient>(w.msg->to).contact;
        out.push_back(
            stored_at_command(rt_.keys, c.email.empty() ? "-" : address_hash(c.email, rt_.secret)));
        out.push_back(
            stored_at_command(rt_.keys, c.phone.empty() ? "-" : address_hash(c.phone, rt_.secret)));
      }
    }
    spans.emplace_back(first, out.size() - first);
  }
  return spans;
}

void Gate::resolve_apply(std::span<Work> batch, bool claim, const ReplySpans& spans,
                         const std::vector<Reply>& replies) const {
  for (std::size_t n = 0; n < batch.size(); ++n) {
    Work& w = batch[n];
    if (w.fate != Fate::pending) continue;
    std::size_t i = spans[n].first;
    {
      switch (claim ? read_claim(replies[i], w.entry_id) : read_peek(replies[i])) {
        case Claim::ours:
          w.claimed = claim;  // a preview holds nothing
          break;
        case Claim::ours_before:
          w.claimed = w.redelivered = true;
          break;
        case Claim::taken:
          w.fate = Fate::duplicate;
          break;
        case Claim::cancelled:  // nothing goes out; finish() records it for its subject
          w.fate = Fate::duplicate;
          w.cancelled = true;
          w.subject = cancelled_subject(*w.msg, rt_.secret);
          break;
        case Claim::failed:
          dead(w, "redis_error", replies[i].str);
          break;  // this message only
      }
      ++i;
      if (w.fate != Fate::pending) continue;
    }
    if (const auto* id = std::get_if<std::string>(&w.msg->to)) {
      w.subject = *id;
      auto sub = parse_subscriber_reply(replies[i]);
      const bool erased = replies[i + 1].is_string();
      if (sub) {
        w.recipient = std::move(*sub);
      } else if (erased) {
        // Erasure removed the record; the marker remains so rule 3 can answer.
        w.recipient = Subscriber{};
        w.recipient.id = *id;
        w.recipient.member = true;
      } else {
        dead(w, "invalid_message:unknown_subscriber", "no subscriber with this id");
        continue;
      }
    } else if (auto stored = parse_subscriber_reply(replies[i])
                                 ? parse_subscriber_reply(replies[i])
                                 : parse_subscriber_reply(replies[i + 1])) {
      w.subject = stored->id;
      w.recipient = std::move(*stored);
    } else {
      const auto& in = std::get<InlineRecipient>(w.msg->to);
      w.subject = inline_subject_key(in.contact, rt_.secret);
      w.recipient.id = w.subject;
      w.recipient.member = false;
      w.recipient.clinic = in.clinic;
      w.recipient.source = in.source;
      w.recipient.contact = in.contact;
    }
    w.hashes = hash_addresses(w.recipient.contact, rt_.secret);
    if (rt_.catalog) {
      w.tmpl = rt_.catalog->find(w.msg->template_name, render_locale(*w.msg, w.recipient));
      if (!w.tmpl)
        dead(w, "invalid_message:unknown_template", "template is not one the catalog holds");
    }
  }
}

Gate::ReplySpans Gate::state_commands(std::span<Work> batch, TimePoint now,
                                      std::vector<Command>& out) const {
  const TimePoint window_start =
      now - std::chrono::duration_cast<std::chrono::milliseconds>(
                rt_.policy ? rt_.policy->cap_window() : std::chrono::seconds{0});
  ReplySpans spans;
  spans.reserve(batch.size());
  for (Work& w : batch) {
    const std::size_t first = out.size();
    const std::size_t count = w.fate == Fate::pending
                                  ? dispatcher::state_commands(rt_.keys, w.subject, w.hashes,
                                                               w.marketing, window_start, out)
                                  : 0;
    spans.emplace_back(first, count);
  }
  // The last reply: when each channel comes back, if it is spent.
  Command spent = cmd("MGET");
  for (Channel c : all_channels) spent.argv.push_back(rt_.keys.exhausted(to_string(c)));
  out.push_back(std::move(spent));
  return spans;
}

void Gate::state_apply(std::span<Work> batch, const ReplySpans& spans,
                       const std::vector<Reply>& replies) const {
  std::array<std::optional<TimePoint>, channel_count> exhausted{};
  if (!replies.empty() && replies.back().type == Reply::Type::array &&
      replies.back().elements.size() == channel_count)
    for (Channel c : all_channels)
      if (const Reply& r = replies.back().elements[index(c)]; r.is_string())
        exhausted[index(c)] = from_epoch_ms(std::strtoll(r.str.c_str(), nullptr, 10));
  for (std::size_t n = 0; n < batch.size(); ++n) {
    Work& w = batch[n];
    if (w.fate != Fate::pending) continue;
    w.state = parse_state(replies.data() + spans[n].first, spans[n].second, w.hashes, w.marketing,
                          &w.push_usable);
    w.exhausted_until = exhausted;
  }
}

void Gate::decide(Work& w, TimePoint now) const {
  if (w.fate != Fate::pending) return;
  static const std::vector<std::string> no_categories;
  std::span<const std::string> cats =
      w.tmpl ? w.tmpl->categories() : std::span<const std::string>(no_categories);
  policy::Input in{*w.msg, w.recipient, w.state, cats, now};
  in.exhausted_until = w.exhausted_until;
  w.decision = rt_.policy->evaluate(in);
  if (w.decision.verdict != policy::Verdict::send) w.fate = Fate::decided;
}

void Gate::decide_batch(std::span<Work> batch, TimePoint now) const {
  std::unordered_map<std::string_view, std::int64_t> sent_here;
  for (Work& w : batch) {
    if (w.fate != Fate::pending) continue;
    if (w.marketing) {
      if (auto it = sent_here.find(w.subject); it != sent_here.end())
        w.state.marketing_sent_in_window += it->second;
    }
    decide(w, now);
    if (w.marketing && w.fate == Fate::pending && w.decision.verdict == policy::Verdict::send)
      ++sent_here[w.subject];
  }
}

void Gate::prepare(Work& w, TimePoint now) const {
  if (w.fate != Fate::pending || w.decision.verdict != policy::Verdict::send) return;
  const Message& m = *w.msg;
  const Channel ch = *w.decision.channel;
  const auto& ident = rt_.identity_of(m.sender);
  std::string unsubscribe_url;
  if (w.marketing) {
    // The link carries the channel it goes out on: the page may take a consent for that one only.
    TokenClaims claims{subject_ref(w.subject, rt_.secret), "purpose:" + m.purpose,
                       to_epoch_ms(now) / 1000 + rt_.config.unsubscribe.token_ttl_days * 86400LL,
                       ch};
    const auto token = make_token(claims, rt_.secret);
    // Cannot happen with a policy that loaded (token_scope_errors() refuses it), but never
    // sent without a way to stop, and never dropped: dead-lettered with the reason.
    if (!token)
      return dead(w, "invalid_message:purpose_without_token_scope",
                  "no unsubscribe token scope for " + claims.scope);
    unsubscribe_url = rt_.config.unsubscribe.base_url + *token;
  }
  const nlohmann::json injected = injected_values(rt_, m, *w.tmpl, unsubscribe_url, zone_of(w));
  auto rendered = w.tmpl->render(ch, m.data, injected);
  if (auto* err = std::get_if<templates::RenderError>(&rendered))
    return dead(w, err->reason, err->detail);
  auto& r = std::get<templates::Rendered>(rendered);

  channels::Envelope& e = w.envelope;
  e.message_id = m.id;
  e.sender = m.sender;
  e.channel = ch;
  e.purpose = m.purpose;
  e.campaign = m.campaign;
  e.marketing = w.marketing;
  switch (ch) {
    case Channel::email:
      e.to = w.recipient.contact.email;
      e.from_name = ident.name;
      e.from_address = rt_.config.email_from;
      e.subject = std::move(r.email_subject);
      e.text = std::move(r.email_text);
      e.html = std::move(r.email_html);
      if (w.marketing) {
        e.unsubscribe_url = unsubscribe_url;
        e.unsubscribe_mailto = rt_.config.unsubscribe.mailto;
      }
      break;
    case Channel::sms:
      e.to = w.recipient.contact.phone;
      e.sms_text = std::move(r.sms_text);
      break;
    case Channel::push: {
      const auto& tokens = w.recipient.contact.push;
      for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (i < w.push_usable.size() && !w.push_usable[i]) continue;
        e.to = tokens[i].token;
        e.push_platform = tokens[i].platform;
        break;
      }
      e.push_title = std::move(r.push_title);
      e.push_body = std::move(r.push_body);
      e.push_data = {{"message_id", m.id}};
      break;
    }
    case Channel::line:
      e.to = w.recipient.contact.line;
      e.line_text = std::move(r.line_text);
      break;
  }
}

bool Gate::fall_over(Work& w, TimePoint until, TimePoint now) const {
  const Channel spent = w.envelope.channel;
  auto& known = w.exhausted_until[index(spent)];
  if (!known || *known < until) known = until;
  w.found_spent = true;
  w.fate = Fate::pending;
  w.envelope = channels::Envelope{};
  w.outcome = channels::Outcome{};
  decide(w, now);
  prepare(w, now);
  return w.fate == Fate::pending;
}

AuditRecord Gate::audit_for(const Work& w, TimePoint now) const {
  AuditRecord a;
  a.time = now;
  a.subject = w.subject;
  if (w.msg) {
    a.message_id = w.msg->id;
    a.sender = w.msg->sender;
    a.purpose = w.msg->purpose;
    a.template_name = w.msg->template_name;
    a.campaign = w.msg->campaign;
  }
  a.attempts = w.attempts;
  if (w.cancelled && w.msg) return cancelled_record(*w.msg, w.subject, now);
  switch (w.fate) {
    case Fate::decided:
      a.decision = std::string(policy::to_string(w.decision.verdict));
      a.reason = w.decision.reason;
      if (w.decision.until) a.until = format_rfc3339(*w.decision.until, zone_of(w));
      if (!w.decision.passed_over.empty())
        a.extra = {{"passed_over", w.decision.passed_over_reason()}};
      break;
    case Fate::sent:
      a.decision = "send";
      a.channel = std::string(to_string(w.envelope.channel));
      // Why not an earlier channel of the message's (an unfollow, an opt-out, a spent quota).
      if (!w.decision.passed_over.empty())
        a.extra = {{"passed_over", w.decision.passed_over_reason()}};
      a.provider = w.outcome.provider;
      a.provider_message_id = w.outcome.provider_message_id;
      a.attempts = w.attempts + 1;
      break;
    case Fate::failed:
      a.event = "delivery_failed";
      a.decision = "send";
      a.channel = std::string(to_string(w.envelope.channel));
      a.provider = w.outcome.provider;
      a.reason = w.suppress ? "address_suppressed:" + a.channel : "provider_rejected:" + a.channel;
      a.attempts = w.attempts + 1;
      break;
    case Fate::dead:
      a.event = "dead_letter";
      a.reason = w.reason;
      break;
    default:
      break;
  }
  return a;
}

std::string_view Gate::zone_of(const Work& w) const { return recipient_zone(rt_, w.recipient); }

std::string Gate::delivered_address_hash(const Work& w) const {
  switch (w.envelope.channel) {
    case Channel::email:
      return w.hashes.email;
    case Channel::sms:
      return w.hashes.phone;
    case Channel::line:
      return w.hashes.line;
    case Channel::push:
      break;
  }
  return address_hash(w.envelope.to, rt_.secret);
}

void Gate::finish_commands(std::span<Work> batch, TimePoint now, std::vector<Command>& out,
                           AuditBatch& audit) const {
  const auto& k = rt_.keys;
  // The stream entry each row decides: a batch written again after a crash adds no row.
  auto record = [&](const Work& w) {
    audit.add(audit_for(w, now), w.entry_id.empty() ? std::string() : k.stream() + " " + w.entry_id,
              w.msg && rt_.webhooks.contains(w.msg->sender));
  };
  const std::int64_t ttl = ttl_ms(rt_.config);
  const std::string now_ms = std::to_string(to_epoch_ms(now));
  Command ack = cmd("XACK", k.stream(), rt_.config.consumer.group);
  // Counters for /metrics, one HINCRBY per distinct outcome in the batch (dispatcher/tally.hpp).
  std::map<std::string, long long> counts;
  auto reschedule = [&](const Work& w, TimePoint due, int attempts) {
    for (auto& c : schedule_commands(k, w.key, w.payload, due, attempts))
      out.push_back(std::move(c));
    out.push_back(release_command(k, w.key));
  };
  std::map<std::string, long long> latency_us;
  std::array<std::optional<TimePoint>, channel_count> spent{};
  for (const Work& w : batch) {
    if (w.found_spent)
      for (Channel c : all_channels)
        if (const auto& u = w.exhausted_until[index(c)];
            u && (!spent[index(c)] || *spent[index(c)] < *u))
          spent[index(c)] = u;
    if (!w.entry_id.empty()) ack.argv.push_back(w.entry_id);
    if (w.outcome.latency.count() > 0) {  // a provider answered this delivery
      const auto kind = channels::to_string(w.outcome.kind);
      ++counts[latency::bucket_field(w.outcome.provider, kind,
                                     latency::bucket_of(w.outcome.latency))];
      latency_us[latency::sum_field(w.outcome.provider, kind)] += w.outcome.latency.count();
    }
    if (auto key = tally_key(w)) ++counts[tally_field(*key)];
    switch (w.fate) {
      case Fate::pending:
        break;
      case Fate::duplicate:
        if (w.cancelled) {
          out.push_back(record_command(k, w.key, cancelled_value, ttl));
          record(w);
        }
        break;
      case Fate::dead:
        out.push_back(dead_letter_command(k, w.reason, w.detail, w.msg ? w.msg->id : std::string(),
                                          w.payload, now));
        // A producer may correct the message and send the same id again.
        if (w.claimed) out.push_back(release_command(k, w.key));
        record(w);  // a payload that names no subject too: its row is kept under ""
        break;
      case Fate::decided:
        if (w.decision.verdict == policy::Verdict::defer) {
          reschedule(w, *w.decision.until, w.attempts);
        } else {
          out.push_back(record_command(k, w.key, "deny", ttl));
        }
        record(w);
        break;
      case Fate::sent:
        out.push_back(record_command(k, w.key, "send", ttl));
        record(w);
        if (w.outcome.status_expected && !w.outcome.provider_message_id.empty()) {
          nlohmann::json about = {
              {"subject", w.subject},           {"id", w.msg->id},
              {"sender", w.msg->sender},        {"channel", to_string(w.envelope.channel)},
              {"provider", w.outcome.provider}, {"address", delivered_address_hash(w)}};
          out.push_back(cmd("SET", k.provider_message(w.outcome.provider_message_id), about.dump(),
                            "PX", std::to_string(ttl)));
        }
        if (w.marketing) {
          const auto window =
              std::chrono::duration_cast<std::chrono::milliseconds>(rt_.policy->cap_window());
          out.push_back(cmd("ZADD", k.frequency(w.subject), now_ms, now_ms + ":" + w.key));
          out.push_back(cmd("ZREMRANGEBYSCORE", k.frequency(w.subject), "-inf",
                            std::to_string(to_epoch_ms(now - window))));
          out.push_back(cmd("PEXPIRE", k.frequency(w.subject), std::to_string(window.count())));
          out.push_back(cmd("SET", k.unsubscribe_ref(subject_ref(w.subject, rt_.secret)), w.subject,
                            "PX",
                            std::to_string(rt_.config.unsubscribe.token_ttl_days * 86400000LL)));
        }
        break;
      case Fate::retry:
        reschedule(w, now + w.retry_delay, w.attempts + 1);
        break;
      case Fate::failed: {
        out.push_back(record_command(k, w.key, "failed", ttl));
        record(w);
        if (w.suppress) {
          auto cmds = suppress_commands(k, delivered_address_hash(w), to_string(w.envelope.channel),
                                        w.outcome.provider, w.outcome.error, now);
          // Logged for a rebuild of a Redis that lost it (store/hot_state.hpp).
          audit.add_hot_state(hot_state_commands(k, cmds), now,
                              w.entry_id.empty() ? std::string() : k.stream() + " " + w.entry_id);
          for (auto& c : cmds) out.push_back(std::move(c));
        }
        break;
      }
    }
  }
  for (Channel c : all_channels)
    if (const auto& u = spent[index(c)]; u && *u > now) {
      const std::string ms = std::to_string(to_epoch_ms(*u));
      out.push_back(cmd("SET", k.exhausted(to_string(c)), ms, "PXAT", ms));
    }
  for (const auto& [field, n] : counts)
    out.push_back(cmd("HINCRBY", k.stats(), field, std::to_string(n)));
  for (const auto& [field, n] : latency_us)
    out.push_back(cmd("HINCRBY", k.stats(), field, std::to_string(n)));
  if (ack.argv.size() > 3) {
    // Acknowledged entries are done with (their fate is recorded above): removed, so the stream
    // holds only what waits and Redis does not grow with the messages processed (DESIGN.md).
    Command del = cmd("XDEL", k.stream());
    del.argv.insert(del.argv.end(), ack.argv.begin() + 3, ack.argv.end());
    out.push_back(std::move(ack));
    out.push_back(std::move(del));
  }
}

nlohmann::json Gate::explain_line(const Work& w) const {
  nlohmann::json j;
  j["id"] = w.msg ? nlohmann::json(w.msg->id) : nlohmann::json(nullptr);
  switch (w.fate) {
    case Fate::dead:
      j["decision"] = "deny";
      j["reason"] = w.reason;
      j["dead_letter"] = true;
      break;
    case Fate::duplicate:
      j["decision"] = "duplicate";
      break;
    default:
      j["decision"] = policy::to_string(w.decision.verdict);
      if (w.decision.channel) j["channel"] = to_string(*w.decision.channel);
      if (!w.decision.reason.empty()) j["reason"] = w.decision.reason;
      if (w.decision.until) j["until"] = format_rfc3339(*w.decision.until, zone_of(w));
      break;
  }
  return j;
}

}  // namespace dispatcher
