// The unsubscribe / preferences page (GET /u/{token}): pure HTML rendering, Japanese or English.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "config/vocabulary.hpp"
#include "policy/policy.hpp"
#include "store/redis/reply.hpp"

namespace dispatcher::web {

struct PreferencesView {
  std::string lang = "ja";  // ja | en
  std::string token;        // the capability in the URL (already URL-safe base64)
  bool saved = false;
  std::vector<std::string> purposes;  // the marketing purposes offered, in display order
  std::set<std::string> opted_out;    // scopes currently opted out: all, purpose:<p>, channel:<c>
  std::vector<Channel> channels;      // the channel boxes shown (offered_channels())
};

// The channels the page offers a box for: email, SMS and push always; LINE only to a member who
// has a LINE user id (`line_h`, the reply of HGET sub:<id> line_h).
std::vector<Channel> offered_channels(const redis::Reply& line_h);

std::string render_preferences_page(const PreferencesView& v);
std::string render_message_page(const std::string& lang, int status, const std::string& title_ja,
                                const std::string& title_en, const std::string& body_ja,
                                const std::string& body_en);

// The purposes the page offers: the policy's marketing purposes, in the policy file's order.
std::vector<std::string> page_purposes(const policy::Policy& p);

}  // namespace dispatcher::web
