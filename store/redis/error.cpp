#include "store/redis/error.hpp"

#include <string>

namespace dispatcher::redis {

namespace {

class RedisCategory final : public KindedCategory {
 public:
  const char* name() const noexcept override { return "redis"; }
  std::string message(int c) const override {
    switch (static_cast<Errc>(c)) {
      case Errc::cannot_connect:
        return "redis: cannot connect";
      case Errc::connection_lost:
        return "redis: connection lost";
      case Errc::disconnected:
        return "redis: disconnected";
      case Errc::protocol:
        return "redis: unreadable reply";
    }
    return "redis: error " + std::to_string(c);
  }
  ErrorKind kind(int c) const noexcept override {
    return static_cast<Errc>(c) == Errc::protocol ? ErrorKind::server : ErrorKind::network;
  }
};

}  // namespace

const KindedCategory& redis_category() noexcept {
  static const RedisCategory category;  // function-local: constructed on first use
  return category;
}

}  // namespace dispatcher::redis
