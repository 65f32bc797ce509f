// The policy file (config/policy.yaml) once parsed and checked: names as written, plus the lookup
// structures evaluate() uses (bit masks over purposes and sender kinds, per-channel flags), all
// built at load so that evaluating a message allocates nothing but a deny reason.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/vocabulary.hpp"
#include "policy/policy.hpp"

namespace date {
class time_zone;
}

namespace dispatcher::policy {

struct Policy::Tables {
  using PurposeMask = std::uint64_t;  // bit i = purposes[i]; at most 64 purposes
  using KindMask = std::uint32_t;     // bit i = sender_kinds[i]; at most 32 kinds
  using ChannelSet = std::array<bool, channel_count>;
  static constexpr std::size_t max_purposes = 64;
  static constexpr std::size_t max_sender_kinds = 32;
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  struct SenderKind {
    std::string name;       // "operator", "clinic", "group"
    bool takes_id = false;  // "clinic:<id>" rather than "operator"
  };

  struct Category {
    std::string name;
    PurposeMask permits = 0;          // the purposes this category may be used for (rule 5)
    KindMask senders = ~KindMask{0};  // the sender kinds that may use it at all (rule 5)
    bool jointly_excluded = false;    // joint_use.excluded_categories (rule 7)
  };

  // Local time of day, [from, to); from > to crosses midnight.
  struct Window {
    std::chrono::minutes from{0};
    std::chrono::minutes to{0};
    bool contains(std::chrono::minutes t) const noexcept {
      return from < to ? (t >= from && t < to) : (t >= from || t < to);
    }
  };

  std::vector<std::string> purposes;  // in file order; the index is the purpose's bit
  std::vector<SenderKind> sender_kinds;
  std::vector<Category> categories;  // in file order

  std::size_t member_category = npos;     // recipient_categories.member
  std::size_t nonmember_category = npos;  // recipient_categories.nonmember

  // Rule 4.
  PurposeMask nonmember_purposes = 0;
  KindMask nonmember_senders = 0;
  ChannelSet nonmember_channels{};

  // Rule 6.
  PurposeMask operator_only_purposes = 0;
  KindMask operator_only_senders = 0;

  // Rule 7.
  KindMask joint_use_senders = 0;

  // Rule 8.
  KindMask clinic_member_senders = 0;
  PurposeMask clinic_member_purposes = 0;

  // Rules 10–12.
  PurposeMask marketing = 0;
  ChannelSet consent_channels{};
  std::int64_t cap_max = 0;
  std::chrono::seconds cap_window{0};

  // Rule 12.
  std::string quiet_zone_name;
  const date::time_zone* quiet_zone = nullptr;  // located at load, never null after it
  std::vector<Window> quiet_windows;            // sorted by from, not overlapping
  ChannelSet quiet_channels{};                  // for marketing purposes
  bool quiet_reminders = false;
  PurposeMask quiet_reminder_purposes = 0;
  ChannelSet quiet_reminder_channels{};

  // Lookups (linear: the lists are a dozen short names).
  std::size_t purpose_index(std::string_view name) const noexcept;
  std::size_t category_index(std::string_view name) const noexcept;
  std::size_t sender_kind_index(std::string_view name) const noexcept;

  // "clinic:c-102" → kind index of "clinic" and id "c-102"; npos when the kind is unknown or the
  // id's presence does not match the kind.
  struct Sender {
    std::size_t kind = npos;
    std::string_view id;
  };
  Sender parse_sender(std::string_view sender) const noexcept;
};

}  // namespace dispatcher::policy
