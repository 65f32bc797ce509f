#include "store/subject_requests.hpp"

#include <sstream>

#include "codec/phone.hpp"
#include "store/hot_state.hpp"
#include "store/requests.hpp"

namespace dispatcher {

using redis::cmd;
using redis::Command;

SubjectRef resolve_subject(std::string_view name, std::string_view secret) {
  if (name.find('@') != std::string_view::npos || (!name.empty() && name.front() == '+') ||
      valid_line_user_id(name)) {
    SubjectRef r;
    r.address_hash = address_hash(name, secret);
    r.key = "contact:" + r.address_hash;
    return r;
  }
  return SubjectRef{std::string(name), {}};
}

Parsed<std::string> normalize_subject(std::string_view name, std::string_view phone_region) {
  if (!written_as_phone(name)) return std::string(name);
  if (auto e164 = normalize_phone(name, phone_region)) return std::move(*e164);
  return Invalid{"invalid_phone", phone_refusal(name, phone_region)};
}

namespace {

AuditRecord event(std::string_view name, const SubjectRef& s, TimePoint now, nlohmann::json extra) {
  AuditRecord a;
  a.time = now;
  a.event = std::string(name);
  a.subject = s.key;
  a.extra = std::move(extra);
  return a;
}

}  // namespace

AuditBatch SubjectChange::audit_batch(const Keys& k, TimePoint now) const {
  AuditBatch batch;
  for (const auto& a : audit) batch.add(a);
  for (const auto& q : requests) batch.add_request(q);
  batch.add_hot_state(hot_state_commands(k, redis), now);
  return batch;
}

bool SubjectChange::writes_database(const Keys& k) const {
  return !audit.empty() || !requests.empty() || !hot_state_commands(k, redis).empty();
}

nlohmann::json completed_request(const SubjectRef& s, std::string_view kind, std::string_view by,
                                 TimePoint now) {
  const bool api = by.rfind("api:", 0) == 0;
  auto j =
      request_json(new_request_id(now), s.key, kind, "completed", now, api ? "api" : "cli", by);
  j["closed"] = format_rfc3339(now);
  return j;
}

void apply_change(pg::Connection& db, redis::SyncClient& r, const Keys& k,
                  const SubjectChange& change, TimePoint now) {
  if (change.writes_database(k))
    db.exec(AuditBatch::insert_sql(), {change.audit_batch(k, now).param()});
  if (change.redis.empty()) return;
  auto replies = r.exec(change.redis);
  if (auto err = redis::first_error(change.redis, replies); !err.empty())
    throw std::runtime_error("redis: " + err);
}

void SubjectChange::append(SubjectChange&& other) {
  for (auto& c : other.redis) redis.push_back(std::move(c));
  for (auto& a : other.audit) audit.push_back(std::move(a));
  for (auto& q : other.requests) requests.push_back(std::move(q));
}

SubjectChange consent_change(const Keys& k, const SubjectRef& s, Channel c, const ConsentProof& p,
                             TimePoint now) {
  nlohmann::json proof = {{"time", format_rfc3339(now)},
                          {"channel", to_string(c)},
                          {"source", p.source},
                          {"wording", p.wording},
                          {"recorded_by", p.recorded_by}};
  SubjectChange out;
  out.redis.push_back(
      cmd("HSET", k.state(s.key), "consent:" + std::string(to_string(c)), proof.dump()));
  proof.erase("time");
  out.audit.push_back(event("consent", s, now, proof));
  return out;
}

SubjectChange optout_change(const Keys& k, const SubjectRef& s, std::string_view scope, bool out_,
                            std::string_view by, TimePoint now) {
  const std::string field = "optout:" + std::string(scope);
  SubjectChange out;
  for (const std::string& key :
       {k.state(s.key), s.address_hash.empty() ? std::string() : k.address(s.address_hash)}) {
    if (key.empty()) continue;
    if (out_)
      out.redis.push_back(cmd("HSET", key, field, format_rfc3339(now)));
    else
      out.redis.push_back(cmd("HDEL", key, field));
  }
  out.audit.push_back(
      event(out_ ? "optout" : "optin", s, now, {{"scope", scope}, {"recorded_by", by}}));
  return out;
}

SubjectChange stop_change(const Keys& k, const SubjectRef& s, std::string_view purpose,
                          std::string_view by, TimePoint now) {
  const std::string field = purpose.empty() ? "stop:all" : "stop:purpose:" + std::string(purpose);
  nlohmann::json extra = {{"recorded_by", by}};
  if (!purpose.empty()) extra["purpose"] = purpose;
  SubjectChange out;
  out.redis.push_back(cmd("HSET", k.state(s.key), field, format_rfc3339(now)));
  out.requests.push_back(completed_request(s, "stop", by, now));
  extra["request"] = out.requests.back()["id"];
  out.audit.push_back(event("stop", s, now, extra));
  return out;
}

SubjectChange erase_change(const Keys& k, const SubjectRef& s, const redis::Reply& sub,
                           std::string_view by, TimePoint now) {
  std::vector<std::string> hashes;
  if (!s.address_hash.empty()) hashes.push_back(s.address_hash);
  for (std::size_t i = 0; i + 1 < sub.elements.size(); i += 2) {
    const std::string& f = sub.elements[i].str;
    if (f != "email_h" && f != "phone_h" && f != "line_h" && f != "push_h") continue;
    std::istringstream words(sub.elements[i + 1].str);
    for (std::string h; words >> h;) hashes.push_back(h);
  }
  const std::string when = format_rfc3339(now);
  // Contact data, push tokens, consents, opt-outs and caps go; a one-way marker stays, on
  // the subject and on each address it had, so no producer can bring it back.
  SubjectChange out;
  out.redis = {cmd("DEL", k.subscriber(s.key)), cmd("DEL", k.state(s.key)),
               cmd("DEL", k.frequency(s.key)), cmd("HSET", k.state(s.key), "erased", when)};
  for (const auto& h : hashes) {
    out.redis.push_back(cmd("DEL", k.address(h)));
    out.redis.push_back(cmd("DEL", k.line_user(h)));  // the ways from an address to the subject
    out.redis.push_back(cmd("DEL", k.subscriber_at(h)));
    out.redis.push_back(cmd("HSET", k.address(h), "erased", when));
  }
  out.requests.push_back(completed_request(s, "erase", by, now));
  out.audit.push_back(
      event("erase", s, now, {{"recorded_by", by}, {"request", out.requests.back()["id"]}}));
  return out;
}

}  // namespace dispatcher
