// The words every folder shares: channels and the ways a message can be addressed.
// Kept here, in the lowest library, so templates, channels and the pipeline agree on them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace dispatcher {

enum class Channel : std::uint8_t { email = 0, sms = 1, push = 2, line = 3 };

inline constexpr std::array<Channel, 4> all_channels{Channel::email, Channel::sms, Channel::push,
                                                     Channel::line};
inline constexpr std::size_t channel_count = all_channels.size();

constexpr std::string_view to_string(Channel c) noexcept {
  switch (c) {
    case Channel::email:
      return "email";
    case Channel::sms:
      return "sms";
    case Channel::push:
      return "push";
    case Channel::line:
      return "line";
  }
  return "?";
}

constexpr std::optional<Channel> parse_channel(std::string_view s) noexcept {
  for (Channel c : all_channels)
    if (to_string(c) == s) return c;
  return std::nullopt;
}

constexpr std::size_t index(Channel c) noexcept { return static_cast<std::size_t>(c); }

// Where a phone number written without its country code is read (config's phone_region).
inline constexpr std::string_view default_phone_region = "JP";

}  // namespace dispatcher
