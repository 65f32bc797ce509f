// libpq's result → Rows, shared by both connections (internal to store/pg).
#pragma once

#include <libpq-fe.h>

#include <optional>
#include <string>

#include "store/pg/result.hpp"

namespace dispatcher::pg {

// The rows of a finished statement, or nullopt with `error` set to the server's message on one
// line ("postgresql: …").
std::optional<Rows> rows_of(const PGresult* r, const PGconn* c, std::string& error);

}  // namespace dispatcher::pg
