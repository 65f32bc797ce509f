#include "channels/email/smtp.hpp"

#include <array>
#include <boost/asio/post.hpp>
#include <cctype>
#include <random>

#include "channels/email/mime.hpp"
#include "channels/http_util.hpp"
#include "codec/mask.hpp"

namespace dispatcher::channels::email {

namespace {

// "550 5.1.1 <x>: …" → {550, "5.1.1"}.
std::pair<long, std::string> parse_reply(std::string_view line) {
  long code = 0;
  if (line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
      std::isdigit(static_cast<unsigned char>(line[1])) &&
      std::isdigit(static_cast<unsigned char>(line[2])))
    code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  std::string_view rest = line.size() > 4 ? line.substr(4) : std::string_view{};
  std::string enhanced;
  std::size_t i = 0;
  int dots = 0;
  while (i < rest.size() && (std::isdigit(static_cast<unsigned char>(rest[i])) || rest[i] == '.')) {
    if (rest[i] == '.') ++dots;
    ++i;
  }
  if (dots == 2 && i >= 5) enhanced = std::string(rest.substr(0, i));
  return {code, enhanced};
}

bool dead_mailbox(std::string_view enhanced) {
  static constexpr std::array<std::string_view, 6> dead{"5.1.1", "5.1.2",  "5.1.3",
                                                        "5.1.6", "5.1.10", "5.2.1"};
  for (auto d : dead)
    if (enhanced == d) return true;
  return false;
}

std::string default_unique_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

Outcome classify_smtp(CURLcode code, long reply_code, std::string_view last_reply) {
  Outcome o;
  auto [line_code, enhanced] = parse_reply(last_reply);
  const long rc = line_code ? line_code : reply_code;
  const std::string reply =
      last_reply.empty() ? std::to_string(rc) : redact(last_reply);  // replies quote the address
  if (code == CURLE_OK && rc >= 200 && rc < 300) {
    o.kind = OutcomeKind::accepted;
    return o;
  }
  if (rc >= 400 && rc < 500) {
    o.kind = OutcomeKind::transient;
    o.error = "smtp transient: " + reply;
    return o;
  }
  if (rc >= 500 && rc < 600) {
    if (enhanced.size() >= 5 &&
        enhanced.compare(1, 4, ".2.2") == 0) {  // mailbox full: persistent transient
      o.kind = OutcomeKind::transient;
      o.error = "smtp mailbox full: " + reply;
      return o;
    }
    o.kind = OutcomeKind::permanent;
    o.suppress_address = dead_mailbox(enhanced);
    o.error = "smtp permanent: " + reply;
    return o;
  }
  // No usable reply: connection, TLS, timeout or authentication trouble, none of it the address's.
  o.kind = OutcomeKind::transient;
  o.error = std::string("smtp transfer failed: ") + curl_easy_strerror(code) +
            (reply.empty() ? "" : " (" + reply + ")");
  return o;
}

SmtpProvider::SmtpProvider(std::string name, SmtpSettings settings, curl::Multi& multi,
                           std::function<std::string()> unique_id)
    : Provider(std::move(name)),
      settings_(std::move(settings)),
      multi_(multi),
      unique_id_(std::move(unique_id)) {
  if (settings_.pool == 0) settings_.pool = 1;
}

void SmtpProvider::do_send(const Envelope& e, Completion done) {
  Mail m;
  m.from_address = e.from_address.empty() ? settings_.from_address : e.from_address;
  m.from_name = e.from_name.empty() ? settings_.from_name : e.from_name;
  m.to = e.to;
  m.subject = e.subject;
  m.text = e.text;
  m.html = e.html;
  m.marketing = e.marketing;
  m.unsubscribe_url = e.unsubscribe_url;
  m.unsubscribe_mailto = e.unsubscribe_mailto;
  if (auto bad = validate(m)) {
    Outcome o;
    o.kind = OutcomeKind::permanent;
    o.error = "cannot build e-mail: " + *bad;
    boost::asio::post(multi_.io(),
                      [done = std::move(done), o = std::move(o)]() mutable { done(std::move(o)); });
    return;
  }
  std::string domain = settings_.message_id_domain;
  if (domain.empty()) domain = m.from_address.substr(m.from_address.rfind('@') + 1);
  // The Message-ID from (sender, id): a repeat after a crash is one message to the mailbox. A
  // message without an id (a probe) gets a random one.
  const std::string unique = unique_id_             ? unique_id_()
                             : e.message_id.empty() ? default_unique_id()
                                                    : message_id_unique(e.sender, e.message_id);
  BuiltMessage built = build_message(m, std::chrono::system_clock::now(),
                                     settings_.utc_offset_minutes, unique, domain);

  Job job;
  job.message_id = std::move(built.message_id);
  job.done = std::move(done);
  curl::Request& r = job.request;
  r.url = settings_.url;
  r.body = std::move(built.data);
  r.mail_from = "<" + m.from_address + ">";
  r.mail_rcpt = {"<" + m.to + ">"};
  r.require_tls = settings_.require_tls;
  r.username = settings_.username;
  r.password = settings_.password;
  r.ca_file = settings_.ca_file;
  r.timeout = settings_.timeout;
  r.max_response_bytes = 64 * 1024;
  if (active_ < settings_.pool) {
    start(std::move(job));
  } else if (waiting_.size() < settings_.queue) {
    waiting_.push_back(std::move(job));
  } else {
    Outcome o;
    o.kind = OutcomeKind::transient;
    o.error = "smtp pool queue full";
    boost::asio::post(multi_.io(), [done = std::move(job.done), o = std::move(o)]() mutable {
      done(std::move(o));
    });
  }
}

void SmtpProvider::start(Job job) {
  ++active_;
  multi_.perform(std::move(job.request),
                 [this, alive = alive_token(), id = std::move(job.message_id),
                  done = std::move(job.done)](curl::Response r) mutable {
                   if (alive.expired()) return;
                   on_done(std::move(id), std::move(done), std::move(r));
                 });
}

void SmtpProvider::on_done(std::string message_id, Completion done, curl::Response r) {
  --active_;
  Outcome o = classify_smtp(r.code, r.status, r.last_reply);
  if (o.kind == OutcomeKind::accepted) o.provider_message_id = std::move(message_id);
  if (!waiting_.empty() && active_ < settings_.pool) {
    Job next = std::move(waiting_.front());
    waiting_.pop_front();
    start(std::move(next));
  }
  done(std::move(o));
}

}  // namespace dispatcher::channels::email
