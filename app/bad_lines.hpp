// A line of `explain` or `enqueue` input that is not a valid message, reported as DESIGN.md
// has both verbs report it: on stderr `line N: <id or -> invalid_message:<what>: <detail>`, and
// on explain's stdout the deny it would be dead-lettered with, carrying the line number.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace dispatcher::verbs {

struct BadLine {
  std::size_t line = 0;
  std::string id;  // the line's "id" when it has a readable one, else empty
  std::string reason, detail;
};

// The line's "id", when the line is a JSON object whose "id" is a string of printable ASCII
// (at most 200 bytes): so a bad line is named by what its producer called it.
std::string readable_id(std::string_view line);

// `line N: <id or -> <reason>: <detail>` on stderr.
void report(const BadLine& b);

// {"line", "id" (or null), "decision": "deny", "reason", "dead_letter": true}
nlohmann::json explain_json(const BadLine& b);

}  // namespace dispatcher::verbs
