#include "templates/display_times.hpp"

#include "config/clock.hpp"

namespace dispatcher::templates {

void add_display_times(const nlohmann::json& data, std::string_view tz, std::string_view locale,
                       nlohmann::json& injected) {
  if (!data.is_object()) return;
  for (const auto& [key, value] : data.items()) {
    if (!value.is_string() || key.size() <= 3 || !key.ends_with("_at")) continue;
    if (auto t = parse_rfc3339(value.get_ref<const std::string&>()))
      injected[key] = format_for_people(*t, tz, locale);
  }
}

}  // namespace dispatcher::templates
