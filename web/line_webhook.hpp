// POST /webhooks/line: LINE's follow and unfollow (block) events. An unfollow is an opt-out of
// the channel (`channel:line`) for the member holding that LINE user id, a follow withdraws it
// (POLICY.md "LINE"). LINE accepts a push to a user who blocked the account and never delivers
// it, so this webhook is what keeps the channel honest.
//
// The signature is checked on the raw body before anything is parsed; the pure parts (signature,
// events, commands) sit beside the thin handler.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/clock.hpp"
#include "model/keys.hpp"
#include "store/redis/reply.hpp"
#include "store/subject_requests.hpp"
#include "web/router.hpp"

namespace dispatcher::web {

// X-Line-Signature: base64(HMAC-SHA256(channel secret, raw request body)).
std::string line_signature(std::string_view channel_secret, std::string_view body);
bool line_signature_valid(std::string_view channel_secret, std::string_view body,
                          std::string_view header);
// Signed under any of `secrets` (one per configured LINE channel).
bool line_signature_valid(const std::vector<std::string>& secrets, std::string_view body,
                          std::string_view header);

struct LineEvent {
  bool follow = false;  // follow, else unfollow
  std::string user_id;  // source.userId, a valid LINE user id
};
// The follow and unfollow events of a webhook body {"destination", "events": [...]}, in order;
// other events, and events without a valid user id, are left out. Or why the body is refused.
std::variant<std::vector<LineEvent>, std::string> parse_line_events(std::string_view body,
                                                                    int json_depth_limit);

// Step 1: for each event, which subscriber holds the user id (GET lineuser:<hash>).
std::vector<redis::Command> line_lookup_commands(const Keys& k, std::string_view secret,
                                                 const std::vector<LineEvent>& events);
// Step 2: each found subscriber's own line_h (HGET sub:<id> line_h), so a stale index entry (the
// member changed LINE id) is not trusted. `ids` are the replies of step 1.
std::vector<redis::Command> line_check_commands(const Keys& k,
                                                const std::vector<redis::Reply>& ids);
// Step 3: the opt-out (unfollow) or opt-in (follow) of channel:line, recorded by "line_webhook",
// for every event whose user id is still the subscriber's; unknown users change nothing.
SubjectChange line_event_change(const Keys& k, std::string_view secret,
                                const std::vector<LineEvent>& events,
                                const std::vector<redis::Reply>& ids,
                                const std::vector<redis::Reply>& line_hashes, TimePoint now);

void post_line_webhook(const ExchangePtr& x);

}  // namespace dispatcher::web
