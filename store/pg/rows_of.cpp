#include "store/pg/rows_of.hpp"

#include <cstdlib>

#include "store/pg/connection.hpp"

namespace dispatcher::pg {

std::optional<Rows> rows_of(const PGresult* r, const PGconn* c, std::string& error) {
  if (!r) {
    error = "postgresql: " + one_line(PQerrorMessage(c));
    return std::nullopt;
  }
  const ExecStatusType status = PQresultStatus(r);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    error = "postgresql: " + one_line(PQresultErrorMessage(r));
    return std::nullopt;
  }
  Rows rows;
  const int nfields = PQnfields(r), ntuples = PQntuples(r);
  for (int f = 0; f < nfields; ++f) rows.columns.emplace_back(PQfname(r, f));
  rows.rows.reserve(ntuples);
  for (int t = 0; t < ntuples; ++t) {
    auto& row = rows.rows.emplace_back();
    row.reserve(nfields);
    for (int f = 0; f < nfields; ++f)
      row.push_back(PQgetisnull(r, t, f)
                        ? Value{}
                        : Value{std::string(PQgetvalue(r, t, f), PQgetlength(r, t, f))});
  }
  if (const char* n = PQcmdTuples(const_cast<PGresult*>(r)); n && *n)
    rows.affected = std::strtoll(n, nullptr, 10);
  return rows;
}

}  // namespace dispatcher::pg
