// The preference page (GET /u/{token}) and the page an expired or broken link shows: pure HTML
// rendering, Japanese or English. What the page says is computed before it is rendered
// (preferences_view() in unsubscribe.hpp), from the same rules the policy gate applies, so the
// page says what `explain` then decides.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/vocabulary.hpp"
#include "policy/policy.hpp"

namespace dispatcher::web {

// The version of the page's wording that a ticked box agrees to: recorded with the consent it
// gives (特定電子メール法: how, when and to what the person agreed). Bump it when the text changes.
inline constexpr const char* kPreferencesWording = "prefs-page-v2";

struct PurposeBox {
  std::string purpose;
  bool ticked = false;  // a message of this kind would go out (on some channel ticked)
};
struct ChannelBox {
  Channel channel = Channel::email;
  bool ticked = false;      // a marketing message would actually go out on it now
  bool can_resume = false;  // the link came by this channel: ticking it records a consent
  // Stopped at the address (an SMS STOP reply, a mail complaint): the page cannot lift it, and
  // says how to.
  bool stopped_at_address = false;
};

struct PreferencesView {
  std::string lang = "ja";  // ja | en
  std::string token;        // the capability in the URL (already URL-safe base64)
  bool saved = false;
  config::SenderIdentity brand;  // the operator's name and contact, from config
  std::string link_purpose;      // the kind of message the link came with; empty: none
  bool link_purpose_out = false;
  std::vector<PurposeBox> purposes;  // the marketing purposes, in display order
  std::vector<ChannelBox> channels;  // one box per channel the subject can be reached on
  bool marketing_out = false;        // "stop all advertising and campaigns" (marketing)
  bool all_out = false;              // "stop everything, booking messages too" (all)
  // What goes out now, as the statements at the top say it.
  bool nothing_sent = false;  // all, a stop request (利用停止) or an erasure
  bool booking_stopped = false;
  std::vector<Channel> booking_channels;  // where a booking message could go
  // Senders whose messages, booking ones included, the subject stopped (sender:<s>): their ids
  // from preferences_view, their names once the handler looked them up in the directory.
  std::vector<std::string> senders_out;
  std::vector<Channel> marketing_channels;  // where marketing goes (empty: none goes out)
};

std::string render_preferences_page(const PreferencesView& v);
// A page that is not the form (an expired link, a broken one): still the operator's name and how
// to reach them.
std::string render_message_page(const std::string& lang, const config::SenderIdentity& brand,
                                const std::string& title_ja, const std::string& title_en,
                                const std::string& body_ja, const std::string& body_en);

// The purposes the page offers: the policy's marketing purposes, in the policy file's order.
std::vector<std::string> page_purposes(const policy::Policy& p);

// How the page names a purpose or a channel (falls back to the code).
std::string label(const std::string& lang, std::string_view key);

}  // namespace dispatcher::web
