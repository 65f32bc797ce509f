// Every Redis key the dispatcher uses, in one place. Keys carry ids and keyed hashes of
// addresses, never an address itself.
#pragma once

#include <string>
#include <string_view>

namespace dispatcher {

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
  std::string done(std::string_view id) const { return cat("done:", id); }  // idempotency record
  std::string subscriber(std::string_view id) const {
    return cat("sub:", id);
  }  // hash: json, addr hashes
  std::string state(std::string_view subject) const {
    return cat("state:", subject);
  }  // opt-outs, stops, consent
  std::string address(std::string_view hash) const {
    return cat("addr:", hash);
  }  // erased, suppressed, opt-outs
  std::string history(std::string_view subject) const {
    return cat("hist:", subject);
  }  // audit stream
  std::string frequency(std::string_view subject) const {
    return cat("freq:", subject);
  }  // zset of sends
  std::string unsubscribe_ref(std::string_view ref) const {
    return cat("uref:", ref);
  }  // opaque ref → subject
  std::string suppressed_index() const {
    return prefix + "suppressed";
  }                                                             // zset of suppressed address hashes
  std::string requests() const { return prefix + "requests"; }  // subject requests (開示 …)
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
