// `check --connect`: dials each provider endpoint and completes the handshake — TCP, TLS with
// the configured CA, and for SMTP the greeting, EHLO, STARTTLS and AUTH — without sending
// anything (a provider may name read-only paths to report, such as LINE's quota). Blocking by
// design: it runs in the check verb, never on the event loop.
#pragma once

#include <chrono>
#include <string>

#include "channels/provider.hpp"

namespace dispatcher::channels {

struct ProbeResult {
  bool ok = false;
  std::string error;  // curl's reason (and the server's last reply, for SMTP), when !ok
  std::chrono::milliseconds took{0};
  // ConnectTarget::report_paths: "<path>: <its JSON answer, compact>", joined by "; ".
  std::string report;
};

ProbeResult probe_connection(const ConnectTarget& t, std::chrono::milliseconds timeout);

}  // namespace dispatcher::channels
