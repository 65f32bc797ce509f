// What Redis holds about subjects and their addresses, as commands and parsers.
//
// Pure: builds the commands and reads the replies; the sync client (verbs) and the async
// client (pipeline) run them. Field names are the contract between verbs, webhooks and
// the policy gate:
//   state:<subject>  erased | stop:all | stop:purpose:<p> | optout:<scope> | consent:<channel>
//   addr:<hash>      erased | suppressed | optout:all | optout:channel:<c>
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/clock.hpp"
#include "model/keys.hpp"
#include "model/message.hpp"
#include "policy/policy.hpp"
#include "store/redis/reply.hpp"

namespace dispatcher {

// The addresses of a recipient, each with its keyed hash, per channel.
struct AddressHashes {
  std::string email, phone, line;
  std::vector<std::string> push;  // one per token, in the recipient's order
};
AddressHashes hash_addresses(const Contact& c, std::string_view secret);

// Subscriber records: stored as a hash {json, email_h, phone_h, line_h, push_h} so that erasure can
// mark every address the subject had.
std::vector<redis::Command> put_subscriber(const Keys& k, const Subscriber& s,
                                           std::string_view secret);
redis::Command get_subscriber(const Keys& k, std::string_view id);  // HGET json
// The address hashes put_subscriber() stored, from HGETALL sub:<id> (empty for no record).
AddressHashes hashes_of_record(const redis::Reply& subscriber_hash);
// The stored subscriber record (its json, as get_subscriber answers) at an address, if any: put
// indexes every e-mail address and number it stores. Nil when none.
redis::Command stored_at_command(const Keys& k, std::string_view address_hash);
std::optional<Subscriber> parse_subscriber_reply(const redis::Reply& r);

// Reading state for the policy gate: commands for one recipient, appended to `out`;
// returns how many were appended so the batch can find its replies again.
std::size_t state_commands(const Keys& k, std::string_view subject, const AddressHashes& h,
                           bool marketing, TimePoint window_start,
                           std::vector<redis::Command>& out);
// Folds the replies of state_commands() into the policy's view. `push_usable` gets, per
// push token, whether it may be used (not suppressed).
policy::SubjectState parse_state(const redis::Reply* replies, std::size_t count,
                                 const AddressHashes& h, bool marketing,
                                 std::vector<bool>* push_usable = nullptr);

// Marks an address dead on a channel (hard bounce, unknown number, unregistered token; or by
// hand): the policy's address_suppressed:<channel> applies from then on. `by` names who found
// it (a provider's config name, "webhook", "manual").
std::vector<redis::Command> suppress_commands(const Keys& k, std::string_view address_hash,
                                              std::string_view channel, std::string_view by,
                                              std::string_view why, TimePoint now);

// Opt-out scopes as the CLI spells them (POLICY.md): all, marketing, channel:<c>,
// marketing:channel:<c>, purpose:<p>, sender:<s>.
bool valid_scope(std::string_view scope, std::string& error);

}  // namespace dispatcher
