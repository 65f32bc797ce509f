// PostgreSQL failures on the event loop as std::error_code values (config/error_kind.hpp), as
// for Redis: the async connection reports these; what the server said in words goes to the log
// where it happens.
#pragma once

#include <system_error>

#include "config/error_kind.hpp"

namespace dispatcher::pg {

enum class Errc {
  cannot_connect = 1,  // the connection could not be made (network)
  connection_lost,     // the server went away with a statement outstanding (network)
  statement_failed,    // the server refused the statement (server)
};

const KindedCategory& pg_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), pg_category()};
}

}  // namespace dispatcher::pg

template <>
struct std::is_error_code_enum<dispatcher::pg::Errc> : std::true_type {};
