// A blocking PostgreSQL connection for the command-line verbs and start-up work (migrations,
// the embedded cluster's database) — never used on the event loop.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/pg/result.hpp"

struct pg_conn;

namespace dispatcher::pg {

// What the server or libpq said, in one line, with the statement's first words for context.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Connection {
 public:
  // `conninfo`: a libpq connection string or URI. Throws Error naming why it cannot connect.
  static Connection connect(const std::string& conninfo);

  // One statement with $1… parameters (text), or several without parameters (`script`).
  Rows exec(const std::string& sql, const std::vector<Value>& params = {});
  void script(const std::string& sql);

  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

 private:
  explicit Connection(pg_conn* c);
  struct Free {
    void operator()(pg_conn* c) const;
  };
  std::unique_ptr<pg_conn, Free> conn_;
};

// libpq's message for a failed connection or statement, on one line (it ends in newlines and may
// hold a DETAIL line).
std::string one_line(const char* message);

}  // namespace dispatcher::pg
