#include "store/idempotency.hpp"

namespace dispatcher {

namespace {
std::string claim_value(std::string_view entry_id) { return "c:" + std::string(entry_id); }
}  // namespace

redis::Command claim_command(const Keys& k, std::string_view id, std::string_view entry_id,
                             std::int64_t ttl_ms) {
  return redis::cmd("SET", k.done(id), claim_value(entry_id), "NX", "GET", "PX",
                    std::to_string(ttl_ms));
}

Claim read_claim(const redis::Reply& r, std::string_view entry_id) {
  if (r.is_error()) return Claim::failed;
  if (r.is_nil()) return Claim::ours;
  if (r.str == cancelling_value) return Claim::cancelled;
  return r.str == claim_value(entry_id) ? Claim::ours_before : Claim::taken;
}

redis::Command peek_command(const Keys& k, std::string_view id) {
  return redis::cmd("GET", k.done(id));
}

Claim read_peek(const redis::Reply& r) {
  if (r.is_error()) return Claim::failed;
  return r.is_nil() ? Claim::ours : Claim::taken;
}

redis::Command record_command(const Keys& k, std::string_view id, std::string_view decision,
                              std::int64_t ttl_ms) {
  return redis::cmd("SET", k.done(id), std::string(decision), "PX", std::to_string(ttl_ms));
}

redis::Command release_command(const Keys& k, std::string_view id) {
  return redis::cmd("DEL", k.done(id));
}

}  // namespace dispatcher
