// Times in message data, as people read them. A producer sends `starts_at` and its kin as
// RFC 3339; a reminder must not show "2026-12-01T10:00:00+09:00" to a patient.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace dispatcher::templates {

// For every `data` value whose key ends in "_at" and which is an RFC 3339 time, sets
// `injected[key]` (looked up before data when rendering) to the time in `tz` and the
// template's `locale` (format_for_people). Other values are left to print as given.
void add_display_times(const nlohmann::json& data, std::string_view tz, std::string_view locale,
                       nlohmann::json& injected);

}  // namespace dispatcher::templates
