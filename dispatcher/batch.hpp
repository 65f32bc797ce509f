// A batch of messages on its way through the gate: the stages `run` and `explain` share.
//
// Each stage is pure over the batch: it appends the Redis commands it needs to one list
// (so a whole batch costs one round trip per stage) and later reads its replies back.
//   parse → resolve (claim the id, load subscribers) → state (opt-outs, consent, caps)
//   → decide (policy) → prepare (render, envelope) → [providers] → finish (record, ack)
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "channels/provider.hpp"
#include "dispatcher/fate.hpp"
#include "dispatcher/runtime.hpp"
#include "model/message.hpp"
#include "policy/policy.hpp"
#include "store/audit.hpp"
#include "store/redis/reply.hpp"
#include "store/subject_store.hpp"

namespace dispatcher {

struct Work {
  std::string entry_id;  // stream entry id (empty in explain)
  std::string payload;   // the original payload, kept for the dead-letter stream
  int attempts = 0;      // provider attempts before this delivery

  std::optional<Message> msg;
  std::string key;  // message_key(sender, id): what the id's records are kept under
  Fate fate = Fate::pending;
  std::string reason, detail;  // dead-letter reason, or the provider's error

  bool claimed = false;      // this entry holds the id's idempotency record
  bool redelivered = false;  // … and held it before: a consumer may have died mid-send
  bool cancelled = false;    // Fate::duplicate: cancelled while queued, recorded by finish()
  std::string subject;
  Subscriber recipient;
  AddressHashes hashes;
  std::vector<bool> push_usable;
  const templates::Template* tmpl = nullptr;
  policy::SubjectState state;
  // Channels spent until a time (LINE's monthly quota), as Redis and this consumer know it.
  std::array<std::optional<TimePoint>, channel_count> exhausted_until{};
  bool found_spent = false;  // a provider said so during this delivery: finish() records it
  policy::Decision decision;
  bool marketing = false;

  channels::Envelope envelope;
  channels::Outcome outcome;
  std::chrono::milliseconds retry_delay{0};  // Fate::retry
  bool suppress = false;                     // Fate::failed: the address is dead
};

class Gate {
 public:
  explicit Gate(const Runtime& rt) : rt_(rt), vocabulary_(rt.vocabulary()) {}

  void parse(Work& w) const;

  // Where each work's replies sit in a stage's reply list (first, count): what a stage's
  // *_commands appended, handed back to its *_apply with the replies.
  using ReplySpans = std::vector<std::pair<std::size_t, std::size_t>>;

  // Stage A: claims each id (when `claim`; otherwise only reads whether it was decided) and
  // loads stored subscribers. An id decided before, or held by another entry, is a duplicate.
  ReplySpans resolve_commands(std::span<Work> batch, bool claim,
                              std::vector<redis::Command>& out) const;
  void resolve_apply(std::span<Work> batch, bool claim, const ReplySpans& spans,
                     const std::vector<redis::Reply>& replies) const;

  // Stage B: the state every rule needs, for the whole batch (and, once per batch, which
  // channels are spent).
  ReplySpans state_commands(std::span<Work> batch, TimePoint now,
                            std::vector<redis::Command>& out) const;
  void state_apply(std::span<Work> batch, const ReplySpans& spans,
                   const std::vector<redis::Reply>& replies) const;

  void decide(Work& w, TimePoint now) const;
  // Decides a whole batch in order; marketing sends earlier in the batch count toward the
  // frequency cap of later messages to the same subject (Redis only knows earlier batches).
  void decide_batch(std::span<Work> batch, TimePoint now) const;

  // For a `send`: renders the template and fills the envelope (or dead-letters the work).
  void prepare(Work& w, TimePoint now) const;

  // The provider of a send answered that its channel is spent until `until` (LINE's monthly
  // quota): rules 10–12 are decided again without that channel, and the envelope prepared for
  // the next one. True when the work is to be sent again (on another channel).
  bool fall_over(Work& w, TimePoint until, TimePoint now) const;

  // Stage C: every fate's audit row (PostgreSQL, written first: the system of record), then
  // the Redis side (idempotency, dead letters, retries), which acknowledges and removes the
  // batch's stream entries.
  void finish_commands(std::span<Work> batch, TimePoint now, std::vector<redis::Command>& out,
                       AuditBatch& audit) const;

  // The decision as `explain` prints it (DESIGN.md): a dead letter is a deny with
  // "dead_letter": true, an id already decided {"id", "decision": "duplicate"}.
  nlohmann::json explain_line(const Work& w) const;

  const Runtime& runtime() const { return rt_; }

 private:
  AuditRecord audit_for(const Work& w, TimePoint now) const;
  // The recipient's time zone, else the policy's (quiet hours, shown times, `until`).
  std::string_view zone_of(const Work& w) const;
  // The keyed hash of the address a delivery went to (what suppression marks).
  std::string delivered_address_hash(const Work& w) const;
  const Runtime& rt_;
  MessageVocabulary vocabulary_;  // built once: parse() runs per message
};

}  // namespace dispatcher
