// A statement's rows as text, the one shape both connections hand back: the audit and the
// subject records are read as JSON text, so nothing here needs libpq's binary formats.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace dispatcher::pg {

// A parameter or a value: text, or SQL NULL.
using Value = std::optional<std::string>;

struct Rows {
  std::vector<std::string> columns;
  std::vector<std::vector<Value>> rows;
  long long affected = 0;  // rows an INSERT/UPDATE/DELETE touched
};

}  // namespace dispatcher::pg
