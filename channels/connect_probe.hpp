// `check --connect`: dials each provider endpoint and completes the handshake — TCP, TLS with
// the configured CA, and for SMTP the greeting, EHLO, STARTTLS and AUTH — without sending
// anything. Blocking by design: it runs in the check verb, never on the event loop.
#pragma once

#include <chrono>
#include <string>

#include "channels/provider.hpp"

namespace dispatcher::channels {

struct ProbeResult {
  bool ok = false;
  std::string error;  // curl's reason (and the server's last reply, for SMTP), when !ok
  std::chrono::milliseconds took{0};
};

ProbeResult probe_connection(const ConnectTarget& t, std::chrono::milliseconds timeout);

}  // namespace dispatcher::channels
