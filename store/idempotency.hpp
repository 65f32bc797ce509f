// The idempotency record: at most one delivery per message id. A consumer claims the id
// ("c:<stream entry>") before anything is sent, and replaces the claim with the decision once
// it is recorded; a second entry for the same id finds the record and is a duplicate. The
// cancel script (dispatcher/cancellation.cpp) reads the same record and writes one of the two
// values below.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "model/keys.hpp"
#include "store/redis/reply.hpp"

namespace dispatcher {

// A message cancelled while it waited in the stream holds `cancelling` until a consumer meets
// its entry and records the cancellation (with its subject) in the audit; then, as a message
// cancelled from the scheduled set does at once, `cancelled`.
inline constexpr std::string_view cancelling_value = "cancelling";
inline constexpr std::string_view cancelled_value = "cancelled";

// SET NX GET: the reply is nil when this entry now holds the id, the holder's value otherwise.
redis::Command claim_command(const Keys& k, std::string_view id, std::string_view entry_id,
                             std::int64_t ttl_ms);

enum class Claim : std::uint8_t {
  ours,         // this entry holds the id now
  ours_before,  // this entry held it already: a consumer died mid-batch (maybe mid-send)
  taken,        // another entry, or a decision: a duplicate
  cancelled,    // cancelled while queued (dispatcher/cancellation.hpp): to be recorded as such
  failed,       // Redis refused the command
};
Claim read_claim(const redis::Reply& r, std::string_view entry_id);

// For a preview (`explain`): whether the id is decided or held, without claiming it. read_peek
// answers Claim::ours when the id is free (a preview would hold it) and Claim::taken otherwise.
redis::Command peek_command(const Keys& k, std::string_view id);
Claim read_peek(const redis::Reply& r);

// The decision ("send", "deny", "failed") replacing the claim, for as long as ids are remembered.
redis::Command record_command(const Keys& k, std::string_view id, std::string_view decision,
                              std::int64_t ttl_ms);
// Lets the id go again (a retry, a deferral, a dead letter the producer may correct).
redis::Command release_command(const Keys& k, std::string_view id);

}  // namespace dispatcher
