// E-mail over SMTP through libcurl: builds the message with the pure MIME builder, sends it over
// a pool of at most `pool` concurrent SMTP transactions on reused connections, and maps the
// server's reply (code + enhanced status code) to an Outcome.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "channels/curl/multi.hpp"
#include "channels/provider.hpp"

namespace dispatcher::channels::email {

struct SmtpSettings {
  std::string
      url;  // smtps://host:465 (implicit TLS) or smtp://host:587 (STARTTLS unless !require_tls)
  bool require_tls = true;
  std::string from_address, from_name;  // used when the envelope has none
  std::string username, password;
  std::string ca_file;
  std::string message_id_domain;  // right side of Message-ID (default: the From domain)
  int utc_offset_minutes = 540;   // Date header zone (+0900)
  std::size_t pool = 4;           // concurrent SMTP transactions (connections)
  std::size_t queue = 10'000;     // sends waiting for a pool slot; beyond: transient
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};
};

// The Outcome of one SMTP transaction from libcurl's result, the reply code and the last reply
// line (pure; "550 5.1.1 …" → permanent + suppress, 4xx → transient, 5.7.x → permanent only).
Outcome classify_smtp(CURLcode code, long reply_code, std::string_view last_reply);

class SmtpProvider final : public Provider {
 public:
  SmtpProvider(std::string name, SmtpSettings settings, curl::Multi& multi,
               std::function<std::string()> unique_id = {});

  std::vector<ConnectTarget> connect_targets() const override {
    return {{name(), settings_.url, settings_.ca_file, settings_.username, settings_.password,
             settings_.require_tls}};
  }

 protected:
  void do_send(const Envelope& e, Completion done) override;

 private:
  struct Job {
    curl::Request request;
    std::string message_id;
    Completion done;
  };
  void start(Job job);
  void on_done(std::string message_id, Completion done, curl::Response r);

  SmtpSettings settings_;
  curl::Multi& multi_;
  std::function<std::string()> unique_id_;
  std::size_t active_ = 0;
  std::deque<Job> waiting_;
};

}  // namespace dispatcher::channels::email
