#include "store/pg/error.hpp"

#include <string>

namespace dispatcher::pg {

namespace {

class PgCategory final : public KindedCategory {
 public:
  const char* name() const noexcept override { return "postgresql"; }
  std::string message(int c) const override {
    switch (static_cast<Errc>(c)) {
      case Errc::cannot_connect:
        return "postgresql: cannot connect";
      case Errc::connection_lost:
        return "postgresql: connection lost";
      case Errc::statement_failed:
        return "postgresql: statement refused";
    }
    return "postgresql: error " + std::to_string(c);
  }
  ErrorKind kind(int c) const noexcept override {
    return static_cast<Errc>(c) == Errc::statement_failed ? ErrorKind::server : ErrorKind::network;
  }
};

}  // namespace

const KindedCategory& pg_category() noexcept {
  static const PgCategory category;  // function-local: constructed on first use
  return category;
}

}  // namespace dispatcher::pg
