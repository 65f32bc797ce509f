// A pure MIME builder for the dispatcher's e-mail: no I/O, no clock, no randomness of its own.
//
// RFC 5322 headers (Date, Message-ID, From with an RFC 2047 display name, To, Subject as
// UTF-8 B encoded-words that never split a character, lines ≤ 76), MIME-Version, a
// multipart/alternative body with text/plain first and text/html last, base64 bodies in lines
// of 76, CRLF everywhere. Marketing mail carries RFC 2369/8058 one-click unsubscribe headers;
// everything else carries neither.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dispatcher::channels::email {

// Base64 (codec/base64.hpp) in CRLF-separated lines of `width`, as MIME bodies carry it.
std::string base64_lines(std::string_view bytes, std::size_t width = 76);

// Text for an unstructured header (Subject) starting after `used` characters of the first line
// (e.g. 9 for "Subject: "). ASCII stays as it is (folded at spaces); anything else becomes
// "=?UTF-8?B?…?=" words, each holding whole UTF-8 characters, separated by CRLF SP, every line
// ≤ 76 characters. CR and LF in the input are dropped.
std::string encode_unstructured(std::string_view utf8, std::size_t used);

// "Display Name <addr>" for From/To: the name as an atom, a quoted-string, or encoded-words.
std::string format_mailbox(std::string_view display_name, std::string_view address,
                           std::size_t used);

// "Tue, 25 Nov 2025 09:30:00 +0900".
std::string format_date(std::chrono::system_clock::time_point t, int utc_offset_minutes);

struct Mail {
  std::string from_name, from_address;
  std::string to;
  std::string subject, text, html;
  bool marketing = false;
  std::string unsubscribe_url;     // https:// (required when marketing)
  std::string unsubscribe_mailto;  // mailto:… or a bare address (optional)
};

// Why this mail cannot be built (bad addresses, marketing without an https unsubscribe URL),
// or nullopt when it can.
std::optional<std::string> validate(const Mail& m);

struct BuiltMessage {
  std::string message_id;  // "<unique@domain>"
  std::string data;        // the whole message, CRLF line ends, not dot-stuffed
};

// The Message-ID's left part for a message: derived from (sender, id) (DESIGN.md), so a send
// repeated after a crash carries the same Message-ID and mailboxes drop the repeat; opaque (32
// hex digits of SHA-256), so the id, which may carry a clinic's numbering, is not shown.
std::string message_id_unique(std::string_view sender, std::string_view id);

// `unique` is the left part of the Message-ID (and seeds the boundary); `domain` its right.
BuiltMessage build_message(const Mail& m, std::chrono::system_clock::time_point now,
                           int utc_offset_minutes, std::string_view unique,
                           std::string_view domain);

}  // namespace dispatcher::channels::email
