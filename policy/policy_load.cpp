// Policy::load: reads config/policy.yaml into Policy::Tables, collecting every mistake with its
// position ("file:line:col: what") before giving up, so an operator fixes the file in one pass.
// Loading (the guardrails, syntax errors) and the errors are config's (config/yaml_reader.hpp);
// the rules' own checks, and their wording, are here.
#include <date/tz.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <initializer_list>
#include <utility>

#include "config/yaml_reader.hpp"
#include "policy/policy.hpp"
#include "policy/policy_tables.hpp"

namespace dispatcher::policy {

namespace {

using Tables = Policy::Tables;
using PurposeMask = Tables::PurposeMask;
using KindMask = Tables::KindMask;
using ChannelSet = Tables::ChannelSet;
using config::mark_of;

// Reads one policy document, remembering every mistake. Each parse_* reads one section; the
// position of a missing thing is that of the map that should have held it.
class Loader {
 public:
  explicit Loader(std::string file) : errors_(std::move(file), "policy") {}

  // Throws config::LoadError with every mistake (in file order) when there is any.
  std::unique_ptr<Tables> run(const YAML::Node& root);

 private:
  void error(const YAML::Mark& at, std::string_view what) {
    errors_.add(at, "", std::string(what));
  }

  // A map with exactly these keys allowed; `required` ones must be present.
  bool expect_map(const YAML::Node& n, const YAML::Mark& parent, std::string_view where) {
    if (!n.IsDefined()) {
      error(parent, "missing section '" + std::string(where) + "'");
      return false;
    }
    if (!n.IsMap()) {
      error(mark_of(n, parent), "'" + std::string(where) + "' must be a map");
      return false;
    }
    return true;
  }
  void check_keys(const YAML::Node& map, std::string_view where,
                  std::initializer_list<std::string_view> allowed,
                  std::initializer_list<std::string_view> required) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (std::string_view a : allowed) list.append(list.empty() ? "" : ", ").append(a);
        error(mark_of(it->first, map.Mark()), "unknown key '" + key + "' in '" +
                                                  std::string(where) +
                                                  "' (expected one of: " + list + ")");
      }
    }
    for (std::string_view r : required)
      if (!map[std::string(r)].IsDefined())
        error(map.Mark(), "missing key '" + std::string(r) + "' in '" + std::string(where) + "'");
  }
  // A list of scalars; each handed to `each(item_node, text)`.
  template <class F>
  void for_each_name(const YAML::Node& n, const YAML::Mark& parent, std::string_view where,
                     F each) {
    if (!n.IsDefined()) return;  // check_keys reported it
    if (!n.IsSequence()) {
      error(mark_of(n, parent), "'" + std::string(where) + "' must be a list");
      return;
    }
    std::vector<std::string> seen;
    for (const YAML::Node& item : n) {
      if (!item.IsScalar()) {
        error(mark_of(item, parent), "'" + std::string(where) + "' must list names");
        continue;
      }
      const std::string& s = item.Scalar();
      if (std::find(seen.begin(), seen.end(), s) != seen.end()) {
        error(item.Mark(), "'" + s + "' is listed twice in '" + std::string(where) + "'");
        continue;
      }
      seen.push_back(s);
      each(item, s);
    }
  }

  PurposeMask purpose_list(const YAML::Node& n, const YAML::Mark& parent, std::string_view where) {
    PurposeMask mask = 0;
    for_each_name(n, parent, where, [&](const YAML::Node& item, const std::string& s) {
      std::size_t i = t_->purpose_index(s);
      if (i == Tables::npos)
        error(item.Mark(), "unknown purpose '" + s + "' in '" + std::string(where) + "'");
      else
        mask |= PurposeMask{1} << i;
    });
    return mask;
  }
  KindMask kind_list(const YAML::Node& n, const YAML::Mark& parent, std::string_view where) {
    KindMask mask = 0;
    for_each_name(n, parent, where, [&](const YAML::Node& item, const std::string& s) {
      std::size_t i = t_->sender_kind_index(s);
      if (i == Tables::npos)
        error(item.Mark(), "unknown sender kind '" + s + "' in '" + std::string(where) + "'");
      else
        mask |= KindMask{1} << i;
    });
    return mask;
  }
  ChannelSet channel_list(const YAML::Node& n, const YAML::Mark& parent, std::string_view where) {
    ChannelSet set{};
    for_each_name(n, parent, where, [&](const YAML::Node& item, const std::string& s) {
      if (auto c = parse_channel(s))
        set[index(*c)] = true;
      else
        error(item.Mark(), "unknown channel '" + s + "' in '" + std::string(where) + "'");
    });
    return set;
  }
  std::size_t category_name(const YAML::Node& n, const YAML::Mark& parent, std::string_view where) {
    if (!n.IsDefined()) return Tables::npos;
    if (!n.IsScalar()) {
      error(mark_of(n, parent), "'" + std::string(where) + "' must name a category");
      return Tables::npos;
    }
    std::size_t i = t_->category_index(n.Scalar());
    if (i == Tables::npos)
      error(n.Mark(), "unknown category '" + n.Scalar() + "' in '" + std::string(where) + "'");
    return i;
  }
  std::optional<bool> boolean(const YAML::Node& n, const YAML::Mark& parent,
                              std::string_view where) {
    if (!n.IsDefined()) return std::nullopt;
    bool b = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, b)) {
      error(mark_of(n, parent), "'" + std::string(where) + "' must be true or false");
      return std::nullopt;
    }
    return b;
  }

  void parse_purposes(const YAML::Node& root);
  void parse_sender_kinds(const YAML::Node& root);
  void parse_categories(const YAML::Node& root);
  void parse_recipient_categories(const YAML::Node& root);
  void parse_nonmembers(const YAML::Node& root);
  void parse_advertising(const YAML::Node& root);
  void parse_joint_use(const YAML::Node& root);
  void parse_clinic_members(const YAML::Node& root);
  void parse_marketing(const YAML::Node& root);
  void parse_quiet_hours(const YAML::Node& root);
  std::optional<std::chrono::minutes> time_of_day(const YAML::Node& n, const YAML::Mark& parent,
                                                  std::string_view where);

  config::Errors errors_;
  std::unique_ptr<Tables> t_ = std::make_unique<Tables>();
};

std::unique_ptr<Tables> Loader::run(const YAML::Node& root) {
  const YAML::Mark top{};  // line 0, column 0: the start of the file
  if (!root.IsMap()) {
    error(mark_of(root, top), "the policy file must be a map of sections");
    errors_.raise_if_any();
  }
  check_keys(root, "policy",
             {"purposes", "sender_kinds", "categories", "recipient_categories", "nonmembers",
              "advertising", "joint_use", "clinic_members", "marketing", "quiet_hours"},
             {});
  // Vocabularies first: the rule tables refer to them.
  parse_purposes(root);
  parse_sender_kinds(root);
  parse_categories(root);
  parse_recipient_categories(root);
  parse_nonmembers(root);
  parse_advertising(root);
  parse_joint_use(root);
  parse_clinic_members(root);
  parse_marketing(root);
  parse_quiet_hours(root);
  errors_.raise_if_any();
  return std::move(t_);
}

void Loader::parse_purposes(const YAML::Node& root) {
  const YAML::Node n = root["purposes"];
  if (!n.IsDefined()) {
    error(root.Mark(), "missing section 'purposes'");
    return;
  }
  for_each_name(n, root.Mark(), "purposes", [&](const YAML::Node& item, const std::string& s) {
    if (s.empty()) {
      error(item.Mark(), "a purpose needs a name");
      return;
    }
    if (t_->purposes.size() == Tables::max_purposes) {
      error(item.Mark(), "more than 64 purposes");
      return;
    }
    t_->purposes.push_back(s);
  });
  if (n.IsSequence() && t_->purposes.empty()) error(n.Mark(), "'purposes' is empty");
}

void Loader::parse_sender_kinds(const YAML::Node& root) {
  const YAML::Node n = root["sender_kinds"];
  if (!expect_map(n, root.Mark(), "sender_kinds")) return;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string name = it->first.Scalar();
    const std::string where = "sender_kinds." + name;
    if (name.empty() || name.find(':') != std::string::npos) {
      error(it->first.Mark(), "a sender kind is a name without ':'");
      continue;
    }
    if (t_->sender_kinds.size() == Tables::max_sender_kinds) {
      error(it->first.Mark(), "more than 32 sender kinds");
      continue;
    }
    if (!expect_map(it->second, it->first.Mark(), where)) continue;
    check_keys(it->second, where, {"id"}, {"id"});
    std::optional<bool> id = boolean(it->second["id"], it->second.Mark(), where + ".id");
    t_->sender_kinds.push_back({name, id.value_or(false)});
  }
  if (t_->sender_kinds.empty()) error(n.Mark(), "'sender_kinds' is empty");
}

void Loader::parse_categories(const YAML::Node& root) {
  const YAML::Node n = root["categories"];
  if (!expect_map(n, root.Mark(), "categories")) return;
  // Names first, so that nothing depends on the order of the entries.
  for (auto it = n.begin(); it != n.end(); ++it) {
    Tables::Category c;
    c.name = it->first.Scalar();
    if (c.name.empty()) error(it->first.Mark(), "a category needs a name");
    t_->categories.push_back(std::move(c));
  }
  std::size_t i = 0;
  for (auto it = n.begin(); it != n.end(); ++it, ++i) {
    const std::string where = "categories." + it->first.Scalar();
    if (!expect_map(it->second, it->first.Mark(), where)) continue;
    check_keys(it->second, where, {"permits", "senders"}, {"permits"});
    Tables::Category& c = t_->categories[i];
    c.permits = purpose_list(it->second["permits"], it->second.Mark(), where + ".permits");
    if (it->second["senders"].IsDefined())
      c.senders = kind_list(it->second["senders"], it->second.Mark(), where + ".senders");
  }
  if (t_->categories.empty()) error(n.Mark(), "'categories' is empty");
}

void Loader::parse_recipient_categories(const YAML::Node& root) {
  const YAML::Node n = root["recipient_categories"];
  if (!expect_map(n, root.Mark(), "recipient_categories")) return;
  check_keys(n, "recipient_categories", {"member", "nonmember"}, {"member", "nonmember"});
  t_->member_category = category_name(n["member"], n.Mark(), "recipient_categories.member");
  t_->nonmember_category =
      category_name(n["nonmember"], n.Mark(), "recipient_categories.nonmember");
}

void Loader::parse_nonmembers(const YAML::Node& root) {
  const YAML::Node n = root["nonmembers"];
  if (!expect_map(n, root.Mark(), "nonmembers")) return;
  check_keys(n, "nonmembers", {"purposes", "senders", "channels"},
             {"purposes", "senders", "channels"});
  t_->nonmember_purposes = purpose_list(n["purposes"], n.Mark(), "nonmembers.purposes");
  t_->nonmember_senders = kind_list(n["senders"], n.Mark(), "nonmembers.senders");
  t_->nonmember_channels = channel_list(n["channels"], n.Mark(), "nonmembers.channels");
}

void Loader::parse_advertising(const YAML::Node& root) {
  const YAML::Node n = root["advertising"];
  if (!expect_map(n, root.Mark(), "advertising")) return;
  check_keys(n, "advertising", {"purposes", "senders"}, {"purposes", "senders"});
  t_->operator_only_purposes = purpose_list(n["purposes"], n.Mark(), "advertising.purposes");
  t_->operator_only_senders = kind_list(n["senders"], n.Mark(), "advertising.senders");
}

void Loader::parse_joint_use(const YAML::Node& root) {
  const YAML::Node n = root["joint_use"];
  if (!expect_map(n, root.Mark(), "joint_use")) return;
  check_keys(n, "joint_use", {"senders", "excluded_categories"},
             {"senders", "excluded_categories"});
  t_->joint_use_senders = kind_list(n["senders"], n.Mark(), "joint_use.senders");
  for_each_name(n["excluded_categories"], n.Mark(), "joint_use.excluded_categories",
                [&](const YAML::Node& item, const std::string& s) {
                  std::size_t i = t_->category_index(s);
                  if (i == Tables::npos)
                    error(item.Mark(),
                          "unknown category '" + s + "' in 'joint_use.excluded_categories'");
                  else
                    t_->categories[i].jointly_excluded = true;
                });
}

void Loader::parse_clinic_members(const YAML::Node& root) {
  const YAML::Node n = root["clinic_members"];
  if (!expect_map(n, root.Mark(), "clinic_members")) return;
  check_keys(n, "clinic_members", {"senders", "purposes"}, {"senders", "purposes"});
  t_->clinic_member_senders = kind_list(n["senders"], n.Mark(), "clinic_members.senders");
  t_->clinic_member_purposes = purpose_list(n["purposes"], n.Mark(), "clinic_members.purposes");
}

// "7d", "168h", "30m", "3600s" → seconds; nullopt if malformed.
std::optional<std::chrono::seconds> parse_duration(std::string_view s) {
  if (s.size() < 2) return std::nullopt;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size() - 1, v);
  if (ec != std::errc{} || end != s.data() + s.size() - 1) return std::nullopt;
  std::int64_t unit = 0;
  switch (s.back()) {
    case 'd':
      unit = 86400;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'm':
      unit = 60;
      break;
    case 's':
      unit = 1;
      break;
    default:
      return std::nullopt;
  }
  if (v > std::int64_t{1} << 40) return std::nullopt;
  return std::chrono::seconds{v * unit};
}

void Loader::parse_marketing(const YAML::Node& root) {
  const YAML::Node n = root["marketing"];
  if (!expect_map(n, root.Mark(), "marketing")) return;
  check_keys(n, "marketing", {"purposes", "consent_channels", "frequency_cap"},
             {"purposes", "consent_channels", "frequency_cap"});
  t_->marketing = purpose_list(n["purposes"], n.Mark(), "marketing.purposes");
  t_->consent_channels =
      channel_list(n["consent_channels"], n.Mark(), "marketing.consent_channels");

  const YAML::Node cap = n["frequency_cap"];
  if (!cap.IsDefined()) return;
  if (!expect_map(cap, n.Mark(), "marketing.frequency_cap")) return;
  check_keys(cap, "marketing.frequency_cap", {"max", "window"}, {"max", "window"});
  if (const YAML::Node max = cap["max"]; max.IsDefined()) {
    std::int64_t v = 0;
    if (!max.IsScalar() || !YAML::convert<std::int64_t>::decode(max, v))
      error(mark_of(max, cap.Mark()), "'marketing.frequency_cap.max' must be a whole number");
    else if (v <= 0)
      error(max.Mark(), "'marketing.frequency_cap.max' must be positive, not " + max.Scalar());
    else
      t_->cap_max = v;
  }
  if (const YAML::Node w = cap["window"]; w.IsDefined()) {
    std::optional<std::chrono::seconds> d;
    if (w.IsScalar()) d = parse_duration(w.Scalar());
    if (!d)
      error(mark_of(w, cap.Mark()),
            "'marketing.frequency_cap.window' must be a whole number and a unit, e.g. 7d, 168h");
    else if (d->count() <= 0)
      error(w.Mark(), "'marketing.frequency_cap.window' must be positive, not " + w.Scalar());
    else
      t_->cap_window = *d;
  }
}

std::optional<std::chrono::minutes> Loader::time_of_day(const YAML::Node& n,
                                                        const YAML::Mark& parent,
                                                        std::string_view where) {
  if (!n.IsDefined()) return std::nullopt;
  const std::string s = n.IsScalar() ? n.Scalar() : std::string();
  auto digit = [&](std::size_t i) { return s[i] >= '0' && s[i] <= '9'; };
  if (s.size() == 5 && digit(0) && digit(1) && s[2] == ':' && digit(3) && digit(4)) {
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h <= 23 && m <= 59) return std::chrono::minutes{h * 60 + m};
  }
  error(mark_of(n, parent), "'" + std::string(where) +
                                "' must be a time of day \"HH:MM\" (00:00–23:59), not \"" + s +
                                "\"");
  return std::nullopt;
}

void Loader::parse_quiet_hours(const YAML::Node& root) {
  const YAML::Node n = root["quiet_hours"];
  if (!expect_map(n, root.Mark(), "quiet_hours")) return;
  check_keys(n, "quiet_hours", {"zone", "windows", "channels", "reminders"},
             {"zone", "windows", "channels"});

  if (const YAML::Node z = n["zone"]; z.IsDefined()) {
    const std::string name = z.IsScalar() ? z.Scalar() : std::string();
    try {
      t_->quiet_zone = date::locate_zone(name);
      t_->quiet_zone_name = name;
    } catch (const std::exception&) {
      error(mark_of(z, n.Mark()), "unknown time zone '" + name + "' in 'quiet_hours.zone'");
    }
  }

  if (const YAML::Node ws = n["windows"]; ws.IsDefined()) {
    if (!ws.IsSequence()) {
      error(ws.Mark(), "'quiet_hours.windows' must be a list of {from, to}");
    } else {
      std::vector<YAML::Mark> marks;
      for (const YAML::Node& w : ws) {
        if (!expect_map(w, ws.Mark(), "quiet_hours.windows[]")) continue;
        check_keys(w, "quiet_hours.windows[]", {"from", "to"}, {"from", "to"});
        auto from = time_of_day(w["from"], w.Mark(), "quiet_hours.windows[].from");
        auto to = time_of_day(w["to"], w.Mark(), "quiet_hours.windows[].to");
        if (!from || !to) continue;
        if (*from == *to) {
          error(w.Mark(), "quiet window " + w["from"].Scalar() + "–" + w["to"].Scalar() +
                              " is empty (from equals to)");
          continue;
        }
        t_->quiet_windows.push_back({*from, *to});
        marks.push_back(w.Mark());
      }
      // Overlapping or touching windows: paint each minute of the day with its window.
      constexpr int day = 24 * 60;
      std::array<int, day> owner;
      owner.fill(-1);
      const auto& wins = t_->quiet_windows;
      for (std::size_t i = 0; i < wins.size(); ++i) {
        bool reported = false;
        for (int m = static_cast<int>(wins[i].from.count()); m != wins[i].to.count();
             m = (m + 1) % day) {
          if (owner[m] != -1 && !reported) {
            error(marks[i], "quiet window overlaps the window at line " +
                                std::to_string(marks[owner[m]].line + 1));
            reported = true;
          }
          if (owner[m] == -1) owner[m] = static_cast<int>(i);
        }
      }
      for (std::size_t i = 0; i < wins.size(); ++i) {
        int end = static_cast<int>(wins[i].to.count());
        if (owner[end] != -1 && owner[end] != static_cast<int>(i) &&
            wins[owner[end]].from.count() == end)
          error(marks[i], "quiet window ends where the window at line " +
                              std::to_string(marks[owner[end]].line + 1) +
                              " begins; merge them into one");
      }
      std::sort(t_->quiet_windows.begin(), t_->quiet_windows.end(),
                [](const auto& a, const auto& b) { return a.from < b.from; });
    }
  }

  t_->quiet_channels = channel_list(n["channels"], n.Mark(), "quiet_hours.channels");

  if (const YAML::Node r = n["reminders"]; r.IsDefined()) {
    if (expect_map(r, n.Mark(), "quiet_hours.reminders")) {
      check_keys(r, "quiet_hours.reminders", {"enabled", "purposes", "channels"},
                 {"enabled", "purposes", "channels"});
      t_->quiet_reminders =
          boolean(r["enabled"], r.Mark(), "quiet_hours.reminders.enabled").value_or(false);
      t_->quiet_reminder_purposes =
          purpose_list(r["purposes"], r.Mark(), "quiet_hours.reminders.purposes");
      t_->quiet_reminder_channels =
          channel_list(r["channels"], r.Mark(), "quiet_hours.reminders.channels");
    }
  }
}

}  // namespace

Policy Policy::load_string(std::string_view yaml, std::string_view name) {
  const config::Located doc = config::load_text(yaml, std::string(name), "policy");
  return Policy(Loader(doc.file).run(doc.node));
}

Policy Policy::load(const std::filesystem::path& file) {
  const config::Located doc = config::load_file(file, "policy");
  return Policy(Loader(doc.file).run(doc.node));
}

}  // namespace dispatcher::policy
