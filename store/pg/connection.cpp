#include "store/pg/connection.hpp"

#include <libpq-fe.h>

#include "store/pg/rows_of.hpp"

namespace dispatcher::pg {

std::string one_line(const char* message) {
  std::string s = message ? message : "";
  for (char& ch : s)
    if (ch == '\n' || ch == '\r') ch = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

void Connection::Free::operator()(pg_conn* c) const { PQfinish(c); }

Connection::Connection(pg_conn* c) : conn_(c) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

Connection Connection::connect(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (!c) throw Error("postgresql: out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string why = one_line(PQerrorMessage(c));
    PQfinish(c);
    throw Error("postgresql: cannot connect: " + why);
  }
  // Notices (e.g. "relation already exists, skipping") are not errors: keep them off stderr.
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  return Connection(c);
}

Rows Connection::exec(const std::string& sql, const std::vector<Value>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* r = PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  std::string error;
  auto rows = rows_of(r, conn_.get(), error);
  PQclear(r);
  if (!rows) throw Error(error);
  return std::move(*rows);
}

void Connection::script(const std::string& sql) {
  PGresult* r = PQexec(conn_.get(), sql.c_str());
  std::string error;
  auto rows = rows_of(r, conn_.get(), error);
  PQclear(r);
  if (!rows) throw Error(error);
}

}  // namespace dispatcher::pg
