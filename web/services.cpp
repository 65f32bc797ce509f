#include "web/services.hpp"

#include <stdexcept>

#include "web/preferences_page.hpp"

namespace dispatcher::web {

namespace {

const policy::Policy& policy_of(const Runtime& rt) {
  if (!rt.policy) throw std::runtime_error("serve: the runtime was opened without the policy");
  return *rt.policy;
}

}  // namespace

Services::Services(boost::asio::io_context& io, const Runtime& rt, const ApiKeys& keys,
                   const ServeOptions& options, redis::Endpoint redis_endpoint, NowFn now)
    : rt(rt),
      policy(policy_of(rt)),
      keys(keys),
      options(options),
      now(std::move(now)),
      page_purposes(web::page_purposes(policy)),
      redis(io, std::move(redis_endpoint), options.redis_timeout) {
  rt.database(true);
  db = pg::AsyncConnection::connect(io, rt.database_url());
}

}  // namespace dispatcher::web
