// The policy gate: POLICY.md's rules 2–12 evaluated over data loaded from the policy file.
//
// Pure: no Redis, no clock. The pipeline gathers the subject's state for a whole batch in
// one round trip and calls evaluate() per message. Rule 1 (well-formed, unknown subscriber)
// is answered before this, by parse_message() and the subscriber lookup.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/clock.hpp"
#include "config/vocabulary.hpp"
#include "config/yaml_reader.hpp"
#include "model/message.hpp"

namespace dispatcher::policy {

enum class Verdict : std::uint8_t { send, defer, deny };
std::string_view to_string(Verdict v) noexcept;

struct Decision {
  Verdict verdict = Verdict::deny;
  std::optional<Channel> channel;  // set when verdict == send
  std::string reason;              // POLICY.md reason code; empty for send
  std::optional<TimePoint> until;  // set when verdict == defer
  // When rule 10 passed over a channel before the one chosen: the first such channel and the
  // prefix of its reason ("opted_out:channel:"), so history can say why a message went by SMS
  // and not LINE. A view of static text: deciding still allocates nothing.
  std::string_view passed_over;
  Channel passed_over_channel{};
  std::string passed_over_reason() const {
    return passed_over.empty()
               ? std::string()
               : std::string(passed_over) + std::string(to_string(passed_over_channel));
  }
};

// Everything Redis knows about a subject (and about the addresses it would be reached at)
// that the rules need. Built by the pipeline; opt-out scopes use the CLI's spelling.
struct SubjectState {
  bool erased = false;
  bool stopped_all = false;
  std::vector<std::string> stopped_purposes;
  std::vector<std::string>
      optouts;  // "all", "channel:sms", "purpose:advertising", "sender:clinic:c-102"
  std::array<bool, channel_count> consent{};     // a recorded marketing opt-in per channel
  std::array<bool, channel_count> suppressed{};  // the address on that channel is suppressed
  std::int64_t marketing_sent_in_window = 0;     // for the frequency cap
};

struct Input {
  const Message& message;
  const Subscriber& recipient;  // resolved: a stored subscriber or the inline contact
  const SubjectState& state;
  std::span<const std::string> template_categories;  // the template's tagged categories
  TimePoint now;
  // Channels whose provider is spent until a time (LINE's monthly quota): rule 10 passes them
  // over with channel_exhausted:<c>; when nothing else carries the message it is deferred until
  // the earliest of those times, never denied for it.
  std::array<std::optional<TimePoint>, channel_count> exhausted_until{};
};

class Policy {
 public:
  // Both throw config::LoadError (subject "policy") with every mistake found, each
  // "file:line:col: what", in file order.
  static Policy load(const std::filesystem::path& file);
  static Policy load_string(std::string_view yaml, std::string_view name = "<policy>");

  Decision evaluate(const Input& in) const;

  // Rule 10 for one channel, as evaluate() applies it (a provider's spent quota aside): the
  // reason prefix ("opted_out:channel:", "no_consent:" …) a message to `r` is passed over with on
  // `c`, or empty when it would go out there. Pages that say where messages go ask this.
  std::string_view channel_refusal(const Subscriber& r, const SubjectState& st, Channel c,
                                   bool marketing) const;

  // Whether marketing on `c` needs a recorded opt-in (the file's consent_channels: e-mail and SMS
  // under the Act on Specified Electronic Mail).
  bool marketing_needs_consent(Channel c) const;

  bool known_purpose(std::string_view purpose) const;
  bool is_marketing(std::string_view purpose) const;
  // Rule 8 alone (the file's clinic_members): whether `sender` may message a member for
  // `purpose`, so that intake can refuse at once what evaluate() would deny. False for a sender
  // kind or purpose the file does not name.
  bool may_message_member(std::string_view sender, std::string_view purpose) const;
  // Whose the recipient is (rules 4 and 8, as evaluate() checks them): a clinic reaches only its
  // own non-member contacts and the members whose `clinics` name it. The reason evaluate() would
  // deny with, or empty; intake refuses with it at once.
  std::string_view relation_denial(std::string_view sender, const Subscriber& r) const;
  // What evaluate() denies whatever the subject's state: evaluate() itself over the most
  // permissive state (every consent recorded, nothing opted out, stopped, suppressed or capped)
  // at `at`, so rules 2 and 4–8 and a non-member's channel list answer exactly as they will when
  // the message is due. Empty when some state lets it out. An address the record lacks today
  // (`unreachable:`) is not counted: the record may gain it before the message is due. Intake
  // refuses with the reason at once rather than accept what will be denied.
  std::string never_permitted(const Message& m, const Subscriber& r,
                              std::span<const std::string> template_categories, TimePoint at) const;
  std::chrono::seconds cap_window() const;

  // The policy file's vocabularies, for validation elsewhere (`dispatcher check`, the parser).
  std::vector<std::string_view> purposes() const;    // in file order
  std::vector<std::string_view> categories() const;  // in file order
  bool known_category(std::string_view category) const;
  std::int64_t cap_count() const;         // the frequency cap: at most this many per cap_window()
  std::string_view default_zone() const;  // quiet hours' zone for a subject without one

  struct Tables;  // the parsed policy file, defined in policy_tables.hpp
  const Tables& tables() const { return *tables_; }

  Policy(Policy&&) noexcept;
  Policy& operator=(Policy&&) noexcept;
  ~Policy();

 private:
  explicit Policy(std::unique_ptr<Tables> t);
  std::unique_ptr<Tables> tables_;
};

}  // namespace dispatcher::policy
