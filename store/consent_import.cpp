#include "store/consent_import.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "model/json_depth.hpp"

namespace dispatcher {

namespace {

Invalid refuse(std::string what, std::string detail) {
  return {"invalid_consent:" + what, std::move(detail)};
}

}  // namespace

Parsed<ConsentLine> parse_consent_line(std::string_view line, std::string_view phone_region,
                                       std::string_view default_by) {
  if (json_too_deep(line, 4)) return refuse("too_deep", "a consent line is one flat object");
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded()) return refuse("not_json", "the line is not valid JSON");
  if (!j.is_object()) return refuse("not_an_object", "expected one JSON object");
  static const char* const known[] = {"subject", "channel", "source", "wording", "at", "by"};
  for (const auto& [key, value] : j.items()) {
    if (std::find(std::begin(known), std::end(known), key) == std::end(known))
      return refuse("unknown_field", "unknown field: " + key.substr(0, 64));
    if (!value.is_string() || value.get_ref<const std::string&>().size() > 1000)
      return refuse("bad_field", key + " must be a string of at most 1000 bytes");
  }
  for (const char* required : {"subject", "channel", "source"})
    if (!j.contains(required) || j[required].get_ref<const std::string&>().empty())
      return refuse("missing_field", std::string(required) + " is required");
  ConsentLine c;
  auto named = normalize_subject(j["subject"].get<std::string>(), phone_region);
  if (auto* inv = std::get_if<Invalid>(&named)) return *inv;
  c.subject = std::get<std::string>(std::move(named));
  auto channel = parse_channel(j["channel"].get<std::string>());
  if (!channel) return refuse("bad_channel", "channel must be email, sms, push or line");
  c.channel = *channel;
  c.proof.source = j["source"];
  c.proof.wording = j.value("wording", "");
  c.proof.recorded_by = j.contains("by") ? j["by"].get<std::string>() : std::string(default_by);
  if (j.contains("at")) {
    c.at = parse_rfc3339(j["at"].get<std::string>());
    if (!c.at) return refuse("bad_time", "at must be an RFC 3339 time with its offset");
  }
  return c;
}

}  // namespace dispatcher
