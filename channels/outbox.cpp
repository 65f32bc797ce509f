#include "channels/outbox.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "codec/hex.hpp"
#include "codec/hmac.hpp"
#include "codec/percent.hpp"
#include "config/private_files.hpp"

namespace dispatcher::channels {

namespace fs = std::filesystem;

namespace {

// Outbox files carry addresses and message text: owner-only (0600), whatever the umask.
int open_private(const fs::path& file, int flags) {
  return ::open(file.c_str(), flags | O_CREAT | O_CLOEXEC, 0600);
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

OutboxProvider::OutboxProvider(std::string name, fs::path dir, Channel channel,
                               EmlWriter render_eml)
    : Provider(std::move(name)),
      dir_(std::move(dir)),
      channel_(channel),
      render_eml_(std::move(render_eml)) {
  try {
    config::create_private_directories(channel_ == Channel::email ? dir_ / "email" : dir_);
  } catch (const std::exception& e) {
    throw std::runtime_error("outbox: " + std::string(e.what()));
  }
  if (channel_ != Channel::email) {
    auto file = dir_ / (std::string(to_string(channel_)) + ".jsonl");
    const int fd = open_private(file, O_WRONLY | O_APPEND);
    lines_ = fd < 0 ? nullptr : ::fdopen(fd, "a");
    if (!lines_) {
      if (fd >= 0) ::close(fd);
      throw std::runtime_error("outbox: cannot open " + file.string());
    }
  }
}

OutboxProvider::~OutboxProvider() {
  if (lines_) std::fclose(lines_);
}

std::string OutboxProvider::file_name_for(std::string_view id) {
  // Ids are printable ASCII without spaces; percent-encode what a file name cannot hold (and a
  // leading dot, which would hide the file).
  std::string name = percent_encode(id, [](unsigned char c, std::size_t pos) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || (c == '.' && pos > 0);
  });
  // Escaped, a 200-character id may take 600 bytes, and a file name may have 255. A longer name
  // keeps its start and ends in '~' and the id's SHA-256: '~' is always escaped above, so it
  // cannot meet a name that fits, and the hash keeps long ids with one start apart.
  constexpr std::size_t max_name = 200;  // with ".eml.tmp", under 255
  if (name.size() <= max_name) return name;
  const std::string tail = "~" + to_hex(sha256(id));
  std::size_t cut = max_name - tail.size();
  if (name[cut - 1] == '%')  // not inside an escape
    cut -= 1;
  else if (name[cut - 2] == '%')
    cut -= 2;
  name.resize(cut);
  return name + tail;
}

std::string OutboxProvider::file_name_for(std::string_view sender, std::string_view message_id) {
  // Every real message has a sender; an envelope without one (a test, a probe) keeps the plain
  // id, which never holds a '+' and so never meets a sender's name.
  if (sender.empty()) return file_name_for(message_id);
  std::string name = file_name_for(sender) + "+" + file_name_for(message_id);
  if (name.size() <= 200) return name;
  // Both long: the sender's part (at most ~320 bytes escaped) and the id's start, cut with the
  // whole pair's hash as file_name_for does.
  std::string pair(sender);
  pair.append(" ").append(message_id);
  return file_name_for(pair);
}

bool OutboxProvider::already_accepted(std::string_view sender, std::string_view message_id) {
  std::error_code ec;  // never throws into the consumer: an error reads as "not yet"
  if (channel_ == Channel::email)
    return fs::exists(dir_ / "email" / (file_name_for(sender, message_id) + ".eml"), ec);
  // Rare (only redelivered messages ask): scan the lines for the (id, sender).
  std::fflush(lines_);
  std::ifstream in(dir_ / (std::string(to_string(channel_)) + ".jsonl"));
  const std::string key =
      "{\"id\":" + nlohmann::json(std::string(message_id)).dump() +
      (sender.empty() ? std::string(",\"channel\":")
                      : ",\"sender\":" + nlohmann::json(std::string(sender)).dump() + ",");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return true;
  return false;
}

void OutboxProvider::do_send(const Envelope& e, Completion done) {
  Outcome o;
  o.provider_message_id =
      "outbox:" + (e.sender.empty() ? std::string() : e.sender + "/") + e.message_id;
  if (channel_ == Channel::email) {
    const fs::path final_path = dir_ / "email" / (file_name_for(e.sender, e.message_id) + ".eml");
    fs::path tmp = final_path;
    tmp += ".tmp";
    {
      const std::string eml = render_eml_(e);
      const int fd = open_private(tmp, O_WRONLY | O_TRUNC);
      bool written = fd >= 0 && ::fchmod(fd, 0600) == 0 && write_all(fd, eml);
      if (fd >= 0 && ::close(fd) != 0) written = false;
      if (!written) {
        o.kind = OutcomeKind::transient;
        o.error = "outbox: cannot write e-mail file";
        return done(std::move(o));
      }
    }
    std::error_code ec;
    fs::rename(tmp, final_path, ec);
    if (ec) {
      o.kind = OutcomeKind::transient;
      o.error = "outbox: " + ec.message();
    }
    return done(std::move(o));
  }
  // Field order is fixed ("id", "sender" first) so already_accepted() can find a line cheaply.
  nlohmann::ordered_json j;
  j["id"] = e.message_id;
  if (!e.sender.empty()) j["sender"] = e.sender;
  j["channel"] = std::string(to_string(channel_));
  j["to"] = e.to;
  j["purpose"] = e.purpose;
  if (!e.campaign.empty()) j["campaign"] = e.campaign;
  if (channel_ == Channel::sms) {
    j["text"] = e.sms_text;
  } else if (channel_ == Channel::line) {
    j["text"] = e.line_text.empty() ? e.text : e.line_text;  // as the line provider sends it
  } else {
    j["platform"] = e.push_platform;
    j["title"] = e.push_title;
    j["body"] = e.push_body;
    j["data"] = e.push_data;
  }
  std::string line = j.dump();
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), lines_) != line.size() || std::fflush(lines_) != 0) {
    o.kind = OutcomeKind::transient;
    o.error = "outbox: cannot append line";
  }
  done(std::move(o));
}

}  // namespace dispatcher::channels
