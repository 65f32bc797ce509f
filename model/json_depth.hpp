// How deep JSON text nests, looked at before it is parsed: a line or body nested thousands deep
// is refused by this count instead of being handed to a parser (and a destructor) that recurse.
#pragma once

#include <string_view>

namespace dispatcher {

// Whether JSON text nests arrays/objects deeper than `limit` (strings are skipped).
bool json_too_deep(std::string_view text, int limit);

}  // namespace dispatcher
