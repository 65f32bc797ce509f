#include "store/subject_store.hpp"

#include <algorithm>

namespace dispatcher {

using redis::cmd;
using redis::Command;
using redis::Reply;

AddressHashes hash_addresses(const Contact& c, std::string_view secret) {
  AddressHashes h;
  if (!c.email.empty()) h.email = address_hash(c.email, secret);
  if (!c.phone.empty()) h.phone = address_hash(c.phone, secret);
  if (!c.line.empty()) h.line = address_hash(c.line, secret);
  for (const auto& t : c.push) h.push.push_back(address_hash(t.token, secret));
  return h;
}

std::vector<Command> put_subscriber(const Keys& k, const Subscriber& s, std::string_view secret) {
  AddressHashes h = hash_addresses(s.contact, secret);
  std::string push;
  for (const auto& p : h.push) push += (push.empty() ? "" : " ") + p;
  std::vector<Command> out{cmd("DEL", k.subscriber(s.id)),
                           cmd("HSET", k.subscriber(s.id), "json", to_json(s).dump(), "email_h",
                               h.email, "phone_h", h.phone, "line_h", h.line, "push_h", push)};
  if (!h.line.empty()) out.push_back(cmd("SET", k.line_user(h.line), s.id));
  for (const std::string* a : {&h.email, &h.phone})
    if (!a->empty()) out.push_back(cmd("SET", k.subscriber_at(*a), s.id));
  return out;
}

AddressHashes hashes_of_record(const Reply& r) {
  AddressHashes h;
  if (r.type != Reply::Type::array) return h;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    const std::string& f = r.elements[i].str;
    const std::string& v = r.elements[i + 1].str;
    if (f == "email_h")
      h.email = v;
    else if (f == "phone_h")
      h.phone = v;
    else if (f == "line_h")
      h.line = v;
    else if (f == "push_h")
      for (std::size_t at = 0; at < v.size();) {
        const std::size_t end = std::min(v.find(' ', at), v.size());
        if (end > at) h.push.push_back(v.substr(at, end - at));
        at = end + 1;
      }
  }
  return h;
}

Command stored_at_command(const Keys& k, std::string_view address_hash) {
  static constexpr const char* script = R"lua(
local id = redis.call('GET', KEYS[1])
if not id then return false end
local json = redis.call('HGET', ARGV[1] .. id, 'json')
if not json then return false end
return json
)lua";
  return cmd("EVAL", script, "1", k.subscriber_at(address_hash), k.prefix + "sub:");
}

Command get_subscriber(const Keys& k, std::string_view id) {
  return cmd("HGET", k.subscriber(id), "json");
}

std::optional<Subscriber> parse_subscriber_reply(const Reply& r) {
  if (!r.is_string()) return std::nullopt;
  // Records are stored as `subscriber put` parsed them: a number is E.164, needing no region.
  auto parsed = parse_subscriber(r.str, "");
  if (auto* s = std::get_if<Subscriber>(&parsed)) return std::move(*s);
  return std::nullopt;
}

std::size_t state_commands(const Keys& k, std::string_view subject, const AddressHashes& h,
                           bool marketing, TimePoint window_start, std::vector<Command>& out) {
  const std::size_t before = out.size();
  out.push_back(cmd("HGETALL", k.state(subject)));
  out.push_back(cmd("HGETALL", k.address(h.email.empty() ? "-" : h.email)));
  out.push_back(cmd("HGETALL", k.address(h.phone.empty() ? "-" : h.phone)));
  out.push_back(cmd("HGETALL", k.address(h.line.empty() ? "-" : h.line)));
  for (const auto& p : h.push) out.push_back(cmd("HGETALL", k.address(p)));
  if (marketing)
    out.push_back(
        cmd("ZCOUNT", k.frequency(subject), std::to_string(to_epoch_ms(window_start)), "+inf"));
  return out.size() - before;
}

namespace {

template <class F>
void each_field(const Reply& r, F&& f) {
  if (r.type != Reply::Type::array) return;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
    f(r.elements[i].str, r.elements[i + 1].str);
}

void add_unique(std::vector<std::string>& v, std::string s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

// Address-level state: an erasure marker or an opt-out recorded against the address
// itself (an SMS STOP reply knows only the number).
bool fold_address(const Reply& r, policy::SubjectState& s, Channel c) {
  bool suppressed = false;
  each_field(r, [&](const std::string& f, const std::string&) {
    if (f == "erased")
      s.erased = true;
    else if (f == "suppressed")
      suppressed = true;
    else if (f.rfind("optout:", 0) == 0)
      add_unique(s.optouts, f.substr(7));
  });
  (void)c;
  return suppressed;
}

}  // namespace

policy::SubjectState parse_state(const Reply* replies, std::size_t count, const AddressHashes& h,
                                 bool marketing, std::vector<bool>* push_usable) {
  policy::SubjectState s;
  if (count == 0) return s;
  each_field(replies[0], [&](const std::string& f, const std::string&) {
    if (f == "erased")
      s.erased = true;
    else if (f == "stop:all")
      s.stopped_all = true;
    else if (f.rfind("stop:purpose:", 0) == 0)
      s.stopped_purposes.push_back(f.substr(13));
    else if (f.rfind("optout:", 0) == 0)
      add_unique(s.optouts, f.substr(7));
    else if (f.rfind("consent:", 0) == 0) {
      if (auto c = parse_channel(std::string_view(f).substr(8))) s.consent[index(*c)] = true;
    }
  });
  std::size_t i = 1;
  if (i < count)
    s.suppressed[index(Channel::email)] =
        fold_address(replies[i++], s, Channel::email) && !h.email.empty();
  if (i < count)
    s.suppressed[index(Channel::sms)] =
        fold_address(replies[i++], s, Channel::sms) && !h.phone.empty();
  if (i < count)
    s.suppressed[index(Channel::line)] =
        fold_address(replies[i++], s, Channel::line) && !h.line.empty();
  bool any_push_usable = false;
  if (push_usable) push_usable->assign(h.push.size(), false);
  for (std::size_t p = 0; p < h.push.size() && i < count; ++p) {
    const bool suppressed = fold_address(replies[i++], s, Channel::push);
    if (push_usable) (*push_usable)[p] = !suppressed;
    any_push_usable = any_push_usable || !suppressed;
  }
  s.suppressed[index(Channel::push)] = !h.push.empty() && !any_push_usable;
  if (marketing && i < count && replies[i].type == Reply::Type::integer)
    s.marketing_sent_in_window = replies[i].integer;
  return s;
}

std::vector<redis::Command> suppress_commands(const Keys& k, std::string_view address_hash,
                                              std::string_view channel, std::string_view by,
                                              std::string_view why, TimePoint now) {
  const nlohmann::json record = {
      {"time", format_rfc3339(now)}, {"channel", channel}, {"provider", by}, {"error", why}};
  std::string member(channel);
  member.append(":").append(address_hash);
  return {redis::cmd("HSET", k.address(address_hash), "suppressed", record.dump()),
          redis::cmd("ZADD", k.suppressed_index(), std::to_string(to_epoch_ms(now)), member)};
}

bool valid_scope(std::string_view scope, std::string& error) {
  if (scope == "all" || scope == "marketing") return true;
  auto colon = scope.find(':');
  std::string_view kind = scope.substr(0, colon),
                   rest = colon == std::string_view::npos ? "" : scope.substr(colon + 1);
  if (kind == "channel") {
    if (parse_channel(rest)) return true;
    error = "channel scope must be channel:email, channel:sms, channel:push or channel:line";
    return false;
  }
  if (kind == "marketing") {
    // marketing:channel:<c>: marketing on one channel (the preference page's boxes).
    if (rest.starts_with("channel:") && parse_channel(rest.substr(8))) return true;
    error = "marketing scope must be marketing or marketing:channel:<email|sms|push|line>";
    return false;
  }
  if (kind == "purpose" && !rest.empty()) return true;
  if (kind == "sender" && valid_sender(rest)) return true;
  error =
      "scope must be all, marketing, channel:<c>, marketing:channel:<c>, purpose:<p> or "
      "sender:<operator|clinic:id|group:id>";
  return false;
}

}  // namespace dispatcher
