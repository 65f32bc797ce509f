// One interface for every way a message leaves: the outbox, SMTP, SMS over HTTP, FCM, APNs.
//
// Provider::send() is written once here (timing, counting, logging, outcome checks);
// providers fill the protected hook do_send() and call `done` exactly once, on the
// event loop's thread. A channel never reads global config: its factory gets its settings.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/vocabulary.hpp"

namespace dispatcher::channels {

// One message to one address on one channel, already rendered.
struct Envelope {
  std::string message_id;  // the producer's id (idempotency key)
  std::string sender;      // operator | clinic:<id> | group:<id>: ids are unique per sender
  Channel channel = Channel::email;
  std::string to;             // e-mail address, E.164 number, push token or LINE user id
  std::string push_platform;  // "fcm" | "apns" for push
  std::string purpose;
  std::string campaign;
  bool marketing = false;

  // email
  std::string from_name, from_address;
  std::string subject, text, html;
  std::string unsubscribe_url;     // https URL with the signed token (marketing only)
  std::string unsubscribe_mailto;  // mailto: address (marketing only)
  // sms
  std::string sms_text;
  // push
  std::string push_title, push_body;
  nlohmann::json push_data = nlohmann::json::object();  // opaque ids only, never personal data
  // line
  std::string line_text;

  std::chrono::system_clock::time_point created = std::chrono::system_clock::now();
};

enum class OutcomeKind : std::uint8_t { accepted, transient, permanent };
std::string_view to_string(OutcomeKind k) noexcept;

struct Outcome {
  OutcomeKind kind = OutcomeKind::accepted;
  std::string provider;             // which provider answered (config name)
  std::string provider_message_id;  // when accepted
  bool status_expected =
      false;          // accepted, and the provider will call back with its delivery status
  std::string error;  // when not accepted: a sentence, no personal data
  bool suppress_address = false;  // permanent and the address is dead (hard bounce, UNREGISTERED …)
  std::optional<std::chrono::milliseconds> retry_after;  // transient: the provider's Retry-After
  // transient: the channel itself is spent (LINE's monthly quota) until this time; waiting
  // seconds cures nothing, so the message falls over to its next channel instead of retrying.
  std::optional<std::chrono::system_clock::time_point> exhausted_until;
  // How long the answering provider took (set by Provider::send of a provider that answers
  // itself; 0 when a wrapper refused the send, so no provider's latency counts it).
  std::chrono::microseconds latency{0};
};

using Completion = std::function<void(Outcome)>;

// Where a provider connects, for `check --connect`: a handshake, never a message.
struct ConnectTarget {
  std::string provider;  // config name
  std::string url;       // smtp(s)://host:port, or an http(s) URL whose host:port is dialled
  std::string ca_file;
  std::string username, password;  // SMTP AUTH, tried as part of the handshake
  bool require_tls = false;        // SMTP STARTTLS
  // After the handshake, GET each of these paths (on `url`) with this bearer token and report
  // what they answer: LINE's monthly quota and its use. Reads only, never a message.
  std::string bearer;
  std::vector<std::string> report_paths;
};

class Provider {
 public:
  explicit Provider(std::string name) : name_(std::move(name)) {}
  virtual ~Provider() = default;
  Provider(const Provider&) = delete;
  Provider& operator=(const Provider&) = delete;

  const std::string& name() const noexcept { return name_; }

  // Sends one envelope; `done` is called exactly once with the outcome.
  void send(const Envelope& e, Completion done);

  // Whether this provider already accepted (sender, message_id) (only the outbox can know; a
  // real provider cannot be asked). Consulted for redelivered messages to keep delivery exactly
  // once. Ids are per sender: another sender's equal id is another message.
  virtual bool already_accepted(std::string_view sender, std::string_view message_id) {
    return false;
  }

  // Whether send() times this provider's answers into Outcome::latency. Wrappers (failover,
  // rate limit, platform routing) say no: their own refusals (circuits open, queue full) are not
  // a provider's answer, and the provider they pass a send to times it.
  virtual bool answers_itself() const { return true; }

  // The endpoints this provider (and any it wraps) would connect to; none for local ones.
  virtual std::vector<ConnectTarget> connect_targets() const { return {}; }

  // Waits for nothing: providers finish their in-flight work through the event loop; this
  // says how many sends are still outstanding (drain on shutdown).
  std::size_t in_flight() const noexcept { return in_flight_; }

 protected:
  virtual void do_send(const Envelope& e, Completion done) = 0;

  // Expires when this provider is destroyed: async handlers that capture `this` hold a copy and
  // do nothing once it has expired (destroy a provider only after in_flight() is 0 or the loop
  // stopped).
  std::weak_ptr<void> alive_token() const noexcept { return alive_; }

 private:
  std::string name_;
  std::size_t in_flight_ = 0;
  std::shared_ptr<char> alive_ = std::make_shared<char>(0);
};

}  // namespace dispatcher::channels
