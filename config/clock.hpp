// Time as the dispatcher sees it: UTC system time, RFC 3339 on the wire, and an injectable clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace dispatcher {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

// The source of "now" everywhere: tests and `explain --now` replace it.
using NowFn = std::function<TimePoint()>;
TimePoint system_now();

// Parses "2026-11-30T10:00:00+09:00", "...Z", with optional fractional seconds.
// Returns nullopt for anything else (the caller names the field in its error).
std::optional<TimePoint> parse_rfc3339(std::string_view s);

// Formats as RFC 3339 in the given IANA zone ("Asia/Tokyo" → "+09:00"); UTC ("Z") when empty.
// An unknown zone formats as UTC.
std::string format_rfc3339(TimePoint t, std::string_view tz = {});

// A time as a person reads it in a message, in the zone `tz` (UTC if unknown): for "ja"
// 12月1日(火) 10:00, otherwise Tue 1 Dec 10:00. The year is left out: reminders are near.
std::string format_for_people(TimePoint t, std::string_view tz, std::string_view locale);

std::int64_t to_epoch_ms(TimePoint t);
TimePoint from_epoch_ms(std::int64_t ms);

}  // namespace dispatcher
