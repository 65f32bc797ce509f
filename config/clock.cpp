#include "config/clock.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <charconv>
#include <cstdio>

namespace dispatcher {

TimePoint system_now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(Clock::now());
}

std::int64_t to_epoch_ms(TimePoint t) { return t.time_since_epoch().count(); }
TimePoint from_epoch_ms(std::int64_t ms) { return TimePoint{std::chrono::milliseconds{ms}}; }

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::optional<TimePoint> parse_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
      !digits(s, 17, 2, sec))
    return std::nullopt;
  std::size_t pos = 19;
  int millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t start = pos;
    int scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  int offset_min = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
  auto ymd =
      date::year{y} / date::month{static_cast<unsigned>(mo)} / date::day{static_cast<unsigned>(d)};
  if (!ymd.ok()) return std::nullopt;
  auto local = date::sys_days{ymd} + std::chrono::hours{h} + std::chrono::minutes{mi} +
               std::chrono::seconds{sec} + std::chrono::milliseconds{millis};
  return TimePoint{std::chrono::duration_cast<std::chrono::milliseconds>(
      (local - std::chrono::minutes{offset_min}).time_since_epoch())};
}

std::string format_rfc3339(TimePoint t, std::string_view tz) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  if (!tz.empty() && tz != "UTC") {
    try {
      const date::time_zone* zone = date::locate_zone(tz);
      auto info = zone->get_info(secs);
      // RFC 3339 offsets are whole minutes; old zones had seconds too (Monrovia −0:44:30 until
      // 1972). The local time written is the one the written offset implies, so the string
      // still names the instant `t`.
      const auto offset = std::chrono::duration_cast<std::chrono::minutes>(info.offset);
      auto local = secs + offset;
      auto off = offset.count();
      char sign = off < 0 ? '-' : '+';
      if (off < 0) off = -off;
      char buf[8];
      std::snprintf(buf, sizeof buf, "%c%02d:%02d", sign, static_cast<int>(off / 60),
                    static_cast<int>(off % 60));
      return date::format("%Y-%m-%dT%H:%M:%S", local) + buf;
    } catch (const std::exception&) {
      // unknown zone: fall through to UTC
    }
  }
  return date::format("%Y-%m-%dT%H:%M:%SZ", secs);
}

std::string format_for_people(TimePoint t, std::string_view tz, std::string_view locale) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  auto local = date::local_seconds{secs.time_since_epoch()};
  if (!tz.empty() && tz != "UTC") {
    try {
      local = date::locate_zone(tz)->to_local(secs);
    } catch (const std::exception&) {
      // unknown zone: UTC, as format_rfc3339
    }
  }
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::weekday wd{day};
  const date::hh_mm_ss hms{local - day};
  const unsigned month = static_cast<unsigned>(ymd.month()),
                 mday = static_cast<unsigned>(ymd.day());
  const int hour = static_cast<int>(hms.hours().count()),
            minute = static_cast<int>(hms.minutes().count());
  char buf[64];
  if (locale == "ja") {
    static constexpr const char* days[] = {"日", "月", "火", "水", "木", "金", "土"};
    std::snprintf(buf, sizeof buf, "%u月%u日(%s) %02d:%02d", month, mday, days[wd.c_encoding()],
                  hour, minute);
  } else {
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::snprintf(buf, sizeof buf, "%s %u %s %02d:%02d", days[wd.c_encoding()], mday,
                  months[month - 1], hour, minute);
  }
  return buf;
}

}  // namespace dispatcher
