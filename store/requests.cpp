#include "store/requests.hpp"

#include <algorithm>
#include <tuple>

#include "codec/random.hpp"

namespace dispatcher {

bool valid_request_kind(std::string_view kind) {
  return kind == "disclosure" || kind == "stop" || kind == "erase";
}

nlohmann::json request_json(std::string_view id, std::string_view subject, std::string_view kind,
                            std::string_view state, TimePoint received, std::string_view via,
                            std::string_view by) {
  nlohmann::json j = {{"id", id},
                      {"subject", subject},
                      {"kind", kind},
                      {"state", state},
                      {"received", format_rfc3339(received)},
                      {"due", format_rfc3339(received + request_due_after)},
                      {"via", via},
                      {"by", by}};
  return j;
}

std::string new_request_id(TimePoint now) {
  return "req-" + std::to_string(to_epoch_ms(now)) + "-" + random_hex(8);
}

namespace {

// The row as JSON, the same shape request_json writes.
constexpr const char* row_json = R"sql(
json_strip_nulls(json_build_object(
  'id', id, 'subject', subject, 'kind', kind, 'state', state,
  'received', to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'due', to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'via', via, 'by', by,
  'closed', to_char(closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'note', note, 'reason', reason))::text
)sql";

}  // namespace

const std::string& list_requests_sql() {
  static const std::string sql = std::string("SELECT ") + row_json +
                                 " FROM subject_requests WHERE $1 = 'all' OR state = 'open' "
                                 "ORDER BY due_at, id";
  return sql;
}

const std::string& close_request_sql() {
  static const std::string sql =
      std::string(
          "UPDATE subject_requests SET state = $2, closed_at = $3::timestamptz, "
          "note = CASE WHEN $2 = 'completed' THEN $4 END, "
          "reason = CASE WHEN $2 = 'refused' THEN $4 END "
          "WHERE id = $1 AND state = 'open' RETURNING ") +
      row_json;
  return sql;
}

const std::string& request_state_sql() {
  static const std::string sql = "SELECT state FROM subject_requests WHERE id = $1";
  return sql;
}

std::vector<nlohmann::json> request_listing(const pg::Rows& rows, TimePoint now) {
  std::vector<nlohmann::json> items;
  for (const auto& row : rows.rows) {
    if (row.empty() || !row[0]) continue;
    auto j = nlohmann::json::parse(*row[0], nullptr, false);
    if (!j.is_object()) continue;
    const bool open = j.value("state", "") == "open";
    const auto due = parse_rfc3339(j.value("due", ""));
    j["overdue"] = open && due && *due < now;
    items.push_back(std::move(j));
  }
  std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    auto key = [](const nlohmann::json& j) {
      return std::make_tuple(j.value("state", "") != "open", !j.value("overdue", false));
    };
    return key(a) < key(b);
  });
  return items;
}

}  // namespace dispatcher
