// `consent import`: consent proofs moved in from an existing list, one JSON object a line —
// {"subject", "channel", "source", "wording", "at", "by"} (DESIGN.md) — each becoming the same
// SubjectChange `consent` records (the flag the gate reads, the proof in the system of record).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model/message.hpp"
#include "store/subject_requests.hpp"

namespace dispatcher {

struct ConsentLine {
  std::string subject;  // as named (a written phone number already E.164)
  Channel channel = Channel::email;
  ConsentProof proof;
  std::optional<TimePoint> at;  // when the person agreed; absent: when it is imported
};

// subject, channel and source are required, wording, at (RFC 3339) and by are optional (by:
// `default_by`). Refusals are invalid_consent:<what> (not_json, too_deep, not_an_object,
// missing_field, bad_field, bad_channel, bad_time, unknown_field) or invalid_phone, with a
// detail that names the field and never repeats an address.
Parsed<ConsentLine> parse_consent_line(std::string_view line, std::string_view phone_region,
                                       std::string_view default_by);

}  // namespace dispatcher
