#include "dispatcher/scheduler.hpp"

namespace dispatcher {

namespace {

constexpr const char* move_due_script = R"lua(
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local h = redis.call('HMGET', ARGV[3] .. id, 'payload', 'attempts')
  if h[1] then
    redis.call('XADD', KEYS[2], '*', 'payload', h[1], 'attempts', h[2] or '0')
  end
  redis.call('ZREM', KEYS[1], id)
  redis.call('DEL', ARGV[3] .. id)
end
return #ids
)lua";

constexpr const char* cancel_script = R"lua(
local done = redis.call('GET', KEYS[3])
if done and string.sub(done, 1, 2) ~= 'c:' and done ~= 'cancelled' and done ~= 'cancelling' then
  return {'already', done}
end
local payload = redis.call('HGET', KEYS[2], 'payload')
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
if done and string.sub(done, 1, 2) == 'c:' then return {'in_flight', payload or ''} end
if removed == 1 then
  redis.call('SET', KEYS[3], 'cancelled', 'PX', ARGV[2])
  return {'cancelled', payload or ''}
end
if done ~= 'cancelled' then redis.call('SET', KEYS[3], 'cancelling', 'PX', ARGV[2]) end
return {'marked', ''}
)lua";

}  // namespace

redis::Command move_due_command(const Keys& k, TimePoint now, int limit) {
  return redis::cmd("EVAL", move_due_script, "2", k.scheduled(), k.stream(),
                    std::to_string(to_epoch_ms(now)), std::to_string(limit), k.prefix + "sched:");
}

redis::Command cancel_command(const Keys& k, std::string_view id, std::int64_t ttl_ms) {
  return redis::cmd("EVAL", cancel_script, "3", k.scheduled(), k.sched(id), k.done(id),
                    std::string(id), std::to_string(ttl_ms));
}

std::vector<redis::Command> schedule_commands(const Keys& k, std::string_view id,
                                              std::string_view payload, TimePoint due,
                                              int attempts) {
  return {redis::cmd("HSET", k.sched(id), "payload", std::string(payload), "attempts",
                     std::to_string(attempts)),
          redis::cmd("ZADD", k.scheduled(), std::to_string(to_epoch_ms(due)), std::string(id))};
}

}  // namespace dispatcher
