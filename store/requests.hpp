// Subject requests (§4 of the privacy policy: 開示 disclosure, 利用停止 stop, 消去 erasure) in
// the system of record (store/migrations/0004_subject_requests.sql): each with the time it was
// received, its due date (received + 14 days) and its state — open, completed or refused.
//
// A stop or an erasure the dispatcher carries out, and a disclosure it delivers, is a request
// completed at once, written in the statement of the change itself (SubjectChange::requests,
// store/subject_requests.hpp), which also completes any request of that kind for that subject
// that was open (one that came by phone or letter, `requests add`). The operator closes the
// others by hand (`requests complete` / `requests refuse`).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "config/clock.hpp"
#include "store/pg/result.hpp"

namespace dispatcher {

inline constexpr auto request_due_after = std::chrono::hours(24 * 14);

// disclosure | stop | erase (an unknown word: nothing).
bool valid_request_kind(std::string_view kind);

// A request as the table and `requests` print it: {"id","subject","kind","state","received",
// "due","via","by"} and, once closed, "closed" and "note" or "reason".
nlohmann::json request_json(std::string_view id, std::string_view subject, std::string_view kind,
                            std::string_view state, TimePoint received, std::string_view via,
                            std::string_view by);
// A fresh id: "req-<epoch ms>-<16 hex digits>".
std::string new_request_id(TimePoint now);

// Rows: the JSON above (text), oldest due first. $1: 'all' or 'open'.
const std::string& list_requests_sql();
// Closes an open request. $1 id, $2 completed|refused, $3 closed at (RFC 3339), $4 the note or
// reason. Rows: the request as it is now, or none when $1 is not an open request.
const std::string& close_request_sql();
// Whether a request exists at all, and its state. $1 id.
const std::string& request_state_sql();

// The listing's JSON lines with "overdue" (open and due before `now`), open ones first, overdue
// ones first among them.
std::vector<nlohmann::json> request_listing(const pg::Rows& rows, TimePoint now);

}  // namespace dispatcher
