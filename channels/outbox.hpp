// The embedded default channel: every e-mail an RFC 5322 .eml file, every SMS, push and LINE
// message a JSON line, under <data dir>/outbox/. Writing a file is "the provider accepted it".
//
// Exactly once: an e-mail file is named by the message's (sender, id) and written by rename, and a
// redelivered message is first looked up (already_accepted), so a consumer killed mid-batch
// and its successor never leave the same id twice.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include "channels/provider.hpp"

namespace dispatcher::channels {

class OutboxProvider final : public Provider {
 public:
  // `render_eml` turns an envelope into the bytes of an RFC 5322 message (the MIME builder).
  using EmlWriter = std::function<std::string(const Envelope&)>;
  OutboxProvider(std::string name, std::filesystem::path dir, Channel channel,
                 EmlWriter render_eml);
  ~OutboxProvider() override;

  bool already_accepted(std::string_view sender, std::string_view message_id) override;

  // Safe on any file system: no '/', no leading dot, at most 200 bytes.
  static std::string file_name_for(std::string_view message_id);
  // An e-mail's file name (without ".eml"): "<sender>+<id>", each part through file_name_for
  // ('+' is always escaped inside a part, so two senders' equal ids never meet); the plain id
  // for an envelope without a sender.
  static std::string file_name_for(std::string_view sender, std::string_view message_id);

 protected:
  void do_send(const Envelope& e, Completion done) override;

 private:
  std::filesystem::path dir_;
  Channel channel_;
  EmlWriter render_eml_;
  std::FILE* lines_ =
      nullptr;  // sms.jsonl / push.jsonl / line.jsonl, appended and flushed per batch of lines
};

}  // namespace dispatcher::channels
