// Changes to a subject's state on request: consent, opt-out/in, stop (利用停止), erasure (消去),
// and address suppression. Each builds the Redis commands (the hot state the gate reads) plus
// the audit records that prove it (PostgreSQL, written first: the system of record); the CLI
// verbs and the HTTP surface run the same functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/clock.hpp"
#include "model/keys.hpp"
#include "model/message.hpp"
#include "store/audit.hpp"
#include "store/pg/connection.hpp"
#include "store/redis/reply.hpp"
#include "store/redis/sync_client.hpp"

namespace dispatcher {

// A subject as people name it: a subscriber id, or an e-mail address / E.164 number of a
// non-member (mapped to its opaque "contact:<hash>" key, with the address hash beside it).
struct SubjectRef {
  std::string key;           // state, history and caps live under this key
  std::string address_hash;  // set when named by address: address-level markers go here too
};
SubjectRef resolve_subject(std::string_view name, std::string_view secret);

// A subject or address as a person names it (a CLI argument, an HTTP path), in the form
// resolve_subject and the address hash take: a name written as a phone number (codec/phone.hpp's
// written_as_phone: "090-1234-5678", full-width digits, "+81 90 …") is its E.164 form, read in
// `phone_region`; any other name is returned as given. A written number that is not valid there
// is refused: invalid_phone, with the number masked.
Parsed<std::string> normalize_subject(std::string_view name, std::string_view phone_region);

struct ConsentProof {
  std::string source;       // the form or channel through which the person agreed
  std::string wording;      // the wording, or its version, the person agreed to
  std::string recorded_by;  // who recorded it (operator user, "unsubscribe-page" …)
};

// What a change writes: the audit rows (and the subject request it carries out) first, in one
// statement, then the Redis commands.
struct SubjectChange {
  std::vector<redis::Command> redis;
  std::vector<AuditRecord> audit;
  std::vector<nlohmann::json> requests;  // store/requests.hpp, request_json
  void append(SubjectChange&& other);
  // The one statement's rows (AuditBatch::insert_sql), for either connection: the audit rows,
  // the requests, and the hot-state commands among `redis` (store/hot_state.hpp).
  AuditBatch audit_batch(const Keys& k, TimePoint now) const;
  bool writes_database(const Keys& k) const;
};

// A request carried out at once by the change that records it (a stop, an erasure, a delivered
// disclosure): completed now. `by` "api:<sender>" came over HTTP, anything else from the CLI.
nlohmann::json completed_request(const SubjectRef& s, std::string_view kind, std::string_view by,
                                 TimePoint now);

// The blocking way (CLI verbs, tests): the audit rows, then the Redis commands. Throws naming
// what refused. The HTTP surface does the same on its loop (web/exchange.hpp, apply()).
void apply_change(pg::Connection& db, redis::SyncClient& r, const Keys& k,
                  const SubjectChange& change, TimePoint now = system_now());

SubjectChange consent_change(const Keys& k, const SubjectRef& s, Channel c, const ConsentProof& p,
                             TimePoint now);
SubjectChange optout_change(const Keys& k, const SubjectRef& s, std::string_view scope, bool out,
                            std::string_view by, TimePoint now);
SubjectChange stop_change(const Keys& k, const SubjectRef& s, std::string_view purpose,
                          std::string_view by, TimePoint now);
// Erasure needs the stored record's address hashes first (HGETALL sub:<id>): pass its reply.
SubjectChange erase_change(const Keys& k, const SubjectRef& s, const redis::Reply& subscriber_hash,
                           std::string_view by, TimePoint now);

}  // namespace dispatcher
