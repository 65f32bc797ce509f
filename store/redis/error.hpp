// Redis failures on the event loop as std::error_code values (config/error_kind.hpp): the
// async client reports these, never a string or an exception. What hiredis said in words goes
// to the log where it happens; the code is what callers decide on.
#pragma once

#include <system_error>

#include "config/error_kind.hpp"

namespace dispatcher::redis {

enum class Errc {
  cannot_connect = 1,  // the socket connect failed (network)
  connection_lost,     // the server went away with commands outstanding (network)
  disconnected,        // the client was closed, or was never connected (network)
  protocol,            // hiredis could not read the reply (server)
};

const KindedCategory& redis_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), redis_category()};
}

}  // namespace dispatcher::redis

template <>
struct std::is_error_code_enum<dispatcher::redis::Errc> : std::true_type {};
