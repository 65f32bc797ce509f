// Every Redis key the dispatcher uses, in one place. Keys carry ids and keyed hashes of
// addresses, never an address itself.
#pragma once

#include <string>
#include <string_view>

namespace dispatcher {

// A message's identity: ids are the producer's and scoped to their sender (DESIGN.md), so two
// clinics' equal ids are two messages. Every key and name derived from an id (idempotency record,
// scheduled entry, outbox file, Message-ID, provider retry keys) is derived from this. A space
// cannot occur in a sender or an id, so the pair is unambiguous.
inline std::string message_key(std::string_view sender, std::string_view id) {
  std::string k;
  k.reserve(sender.size() + 1 + id.size());
  k.append(sender).append(" ").append(id);
  return k;
}

struct Keys {
  std::string prefix = "dsp:";

  std::string stream() const { return prefix + "stream"; }  // messages waiting, consumer group
  std::string dead() const { return prefix + "dead"; }      // dead-letter stream
  std::string scheduled() const {
    return prefix + "scheduled";
  }  // zset: message id → due (epoch ms)
  std::string sched(std::string_view id) const {
    return cat("sched:", id);
  }  // hash: payload, attempts
  // Keyed by message_key(sender, id):
  std::string done(std::string_view key) const { return cat("done:", key); }  // idempotency record
  // set: the senders that used an id (so `cancel ID` finds the message, or asks which sender)
  std::string senders_of(std::string_view id) const { return cat("ids:", id); }
  std::string subscriber(std::string_view id) const {
    return cat("sub:", id);
  }  // hash: json, addr hashes
  std::string state(std::string_view subject) const {
    return cat("state:", subject);
  }  // opt-outs, stops, consent
  std::string address(std::string_view hash) const {
    return cat("addr:", hash);
  }  // erased, suppressed, opt-outs
  std::string frequency(std::string_view subject) const {
    return cat("freq:", subject);
  }  // zset of sends
  std::string unsubscribe_ref(std::string_view ref) const {
    return cat("uref:", ref);
  }  // opaque ref → subject
  std::string suppressed_index() const {
    return prefix + "suppressed";
  }  // zset of suppressed address hashes
  std::string requests() const {
    return prefix + "requests";
  }  // an older dispatcher's subject requests, moved to the database at start-up
  std::string stats() const {
    return prefix + "stats";
  }  // hash: "<outcome>\t<channel or reason>" → count
  // The message a provider's status callback is about: provider message id → json (subject,
  // message id, channel, provider, address hash). Kept only for sends whose provider calls back.
  std::string provider_message(std::string_view provider_message_id) const {
    return cat("pmid:", provider_message_id);
  }
  // LINE user id's keyed hash → the subscriber id holding it (the LINE webhook names users
  // only by their id); checked against the subscriber's own line_h before it is trusted.
  std::string line_user(std::string_view hash) const { return cat("lineuser:", hash); }
  // An e-mail address's or phone number's keyed hash → the stored subscriber holding it, so an
  // inline contact that is someone's stored record is resolved to that record (rules 4 and 8).
  std::string subscriber_at(std::string_view hash) const { return cat("subat:", hash); }
  // A channel whose provider is spent (LINE's monthly quota): epoch ms it comes back, expiring
  // then, so every consumer and `explain` pass the channel over until that time.
  std::string exhausted(std::string_view channel) const { return cat("exhausted:", channel); }
  std::string consumers() const {
    return prefix + "consumers";
  }  // zset: consumer name → last heartbeat (ms)

 private:
  std::string cat(std::string_view kind, std::string_view id) const {
    std::string k;
    k.reserve(prefix.size() + kind.size() + id.size());
    k.append(prefix).append(kind).append(id);
    return k;
  }
};

}  // namespace dispatcher
