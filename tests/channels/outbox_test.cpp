#include "channels/outbox.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "channels/support/standin.hpp"
#include "codec/percent.hpp"

namespace dispatcher::channels {
namespace {

using namespace channels::testing;  // NOLINT
using nlohmann::json;
namespace fs = std::filesystem;
namespace asio = boost::asio;

// Stands in for the MIME builder: the bytes say which envelope they came from.
std::string fake_eml(const Envelope& e) {
  return "Subject: " + e.subject + "\r\nTo: " + e.to + "\r\n\r\n" + e.text + "\r\n";
}

Envelope mail(std::string id) {
  Envelope e;
  e.message_id = std::move(id);
  e.channel = Channel::email;
  e.to = "hanako@example.jp";
  e.subject = "ご予約の確認";
  e.text = "明日10:00のご予約をお待ちしております。";
  return e;
}

Envelope sms(std::string id) {
  Envelope e;
  e.message_id = std::move(id);
  e.channel = Channel::sms;
  e.to = "+819012345678";
  e.purpose = "reservation.reminder";
  e.sms_text = "さくら歯科です。明日10:00のご予約をお待ちしております。";
  return e;
}

Envelope push(std::string id) {
  Envelope e;
  e.message_id = std::move(id);
  e.channel = Channel::push;
  e.to = "tok-1";
  e.push_platform = "fcm";
  e.purpose = "reservation.reminder";
  e.campaign = "remind-24h";
  e.push_title = "さくら歯科";
  e.push_body = "明日10:00のご予約";
  e.push_data = {{"rid", "r_123"}};
  return e;
}

std::vector<json> lines(const fs::path& file) {
  std::vector<json> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

std::set<std::string> files_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) out.insert(entry.path().filename());
  return out;
}

struct OutboxTest : ::testing::Test {
  TempDir dir;
  asio::io_context io;
  fs::path outbox = dir.path() / "outbox";
};

TEST_F(OutboxTest, AnEmailIsOneEmlFileNamedByTheMessageId) {
  OutboxProvider p("outbox", outbox, Channel::email, fake_eml);
  const Outcome o = send_sync(io, p, mail("m-1"));
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  EXPECT_EQ(o.provider, "outbox");
  EXPECT_EQ(o.provider_message_id, "outbox:m-1");
  EXPECT_GT(o.latency.count(), 0) << "the outbox answers itself";
  EXPECT_EQ(read_file((outbox / "email" / "m-1.eml").string()), fake_eml(mail("m-1")));
  EXPECT_EQ(files_in(outbox / "email"), (std::set<std::string>{"m-1.eml"}))
      << "no temporary file is left behind";
  EXPECT_EQ(p.in_flight(), 0u);
}

TEST_F(OutboxTest, ResendingAnEmailReplacesItsFile) {
  OutboxProvider p("outbox", outbox, Channel::email, fake_eml);
  Envelope e = mail("m-1");
  ASSERT_EQ(send_sync(io, p, e).kind, OutcomeKind::accepted);
  e.subject = "second";
  ASSERT_EQ(send_sync(io, p, e).kind, OutcomeKind::accepted);
  EXPECT_EQ(files_in(outbox / "email"), (std::set<std::string>{"m-1.eml"}));
  EXPECT_EQ(read_file((outbox / "email" / "m-1.eml").string()), fake_eml(e));
}

TEST_F(OutboxTest, FileNamesForOddIdsArePercentEncodedWithoutALeadingDot) {
  EXPECT_EQ(OutboxProvider::file_name_for("m-1_A.b"), "m-1_A.b");
  EXPECT_EQ(OutboxProvider::file_name_for(".hidden"), "%2Ehidden");
  EXPECT_EQ(OutboxProvider::file_name_for(".."), "%2E.") << "the second dot is not in front";
  EXPECT_EQ(OutboxProvider::file_name_for("../../etc/passwd"), "%2E.%2F..%2Fetc%2Fpasswd");
  EXPECT_EQ(OutboxProvider::file_name_for("a/b\\c:d*e?f\"g<h>i|j"),
            "a%2Fb%5Cc%3Ad%2Ae%3Ff%22g%3Ch%3Ei%7Cj");
  EXPECT_EQ(OutboxProvider::file_name_for("a b~c%d+e"), "a%20b%7Ec%25d%2Be");
  EXPECT_EQ(OutboxProvider::file_name_for("予約"), "%E4%BA%88%E7%B4%84");
  EXPECT_EQ(OutboxProvider::file_name_for(std::string("a\0b\n", 4)), "a%00b%0A");
  EXPECT_EQ(OutboxProvider::file_name_for(""), "");
}

TEST_F(OutboxTest, TwoSendersEqualIdsAreTwoFilesAndTwoLines) {
  EXPECT_EQ(OutboxProvider::file_name_for("clinic:c-102", "m-1"), "clinic%3Ac-102+m-1");
  EXPECT_EQ(OutboxProvider::file_name_for("", "m-1"), "m-1") << "no sender: the plain id";
  // '+' is escaped inside either part, so the pair never meets another pair.
  EXPECT_NE(OutboxProvider::file_name_for("clinic:a", "b+c"),
            OutboxProvider::file_name_for("clinic:a+b", "c"));
  const std::string long_sender = "clinic:" + std::string(100, '/');
  EXPECT_LE(OutboxProvider::file_name_for(long_sender, std::string(200, '/')).size(), 200u);

  OutboxProvider mail_box("outbox", outbox, Channel::email, fake_eml);
  for (const char* sender : {"clinic:c-102", "clinic:c-200"}) {
    Envelope e = mail("m-1");
    e.sender = sender;
    ASSERT_EQ(send_sync(io, mail_box, e).kind, OutcomeKind::accepted);
  }
  EXPECT_EQ(files_in(outbox / "email"),
            (std::set<std::string>{"clinic%3Ac-102+m-1.eml", "clinic%3Ac-200+m-1.eml"}));
  EXPECT_TRUE(mail_box.already_accepted("clinic:c-200", "m-1"));
  EXPECT_FALSE(mail_box.already_accepted("clinic:c-300", "m-1"));

  OutboxProvider sms_box("outbox", outbox, Channel::sms, fake_eml);
  Envelope e = sms("s-1");
  e.sender = "clinic:c-102";
  ASSERT_EQ(send_sync(io, sms_box, e).kind, OutcomeKind::accepted);
  EXPECT_EQ(lines(outbox / "sms.jsonl").at(0)["sender"], "clinic:c-102");
  EXPECT_TRUE(sms_box.already_accepted("clinic:c-102", "s-1"));
  EXPECT_FALSE(sms_box.already_accepted("clinic:c-200", "s-1")) << "another sender's s-1";
}

TEST_F(OutboxTest, DistinctIdsNeverShareAFile) {
  // '%' itself is encoded, so an id that looks encoded cannot meet the id it looks like.
  const std::vector<std::string> ids = {"a/b", "a%2Fb", "a%252Fb", ".x", "%2Ex", "x.", "X."};
  std::set<std::string> names;
  for (const auto& id : ids) names.insert(OutboxProvider::file_name_for(id));
  EXPECT_EQ(names.size(), ids.size());
}

TEST_F(OutboxTest, OddIdsAreWrittenInsideTheOutboxAndFoundAgain) {
  OutboxProvider p("outbox", outbox, Channel::email, fake_eml);
  const std::vector<std::string> ids = {"../escape", ".hidden", "a/b", "予約:1", "a b"};
  for (const auto& id : ids) {
    const Outcome o = send_sync(io, p, mail(id));
    EXPECT_EQ(o.kind, OutcomeKind::accepted) << id << ": " << o.error;
    EXPECT_EQ(o.provider_message_id, "outbox:" + id);
    EXPECT_TRUE(p.already_accepted("", id)) << id;
  }
  EXPECT_EQ(files_in(outbox / "email"),
            (std::set<std::string>{"%2E.%2Fescape.eml", "%2Ehidden.eml", "a%2Fb.eml",
                                   "%E4%BA%88%E7%B4%84%3A1.eml", "a%20b.eml"}));
  EXPECT_FALSE(fs::exists(outbox / "escape.eml")) << "a dotted id cannot climb out";
  EXPECT_EQ(files_in(outbox), (std::set<std::string>{"email"}));
}

TEST_F(OutboxTest, TheLongestValidIdsStillFitInAFileName) {
  // A message id is 1-200 printable ASCII characters without spaces (model/message.cpp); escaped,
  // each may take three bytes, and most file systems allow a name of 255.
  std::string printable;
  for (char c = '!'; c <= '~'; ++c) printable += c;
  const std::vector<std::string> ids = {
      std::string(200, '/'),        // every byte escaped
      std::string(199, '/') + ":",  // the same but for the last byte
      std::string(200, 'a'),        // nothing escaped
      printable + printable.substr(0, 200 - printable.size()),
      std::string(90, '%') + std::string(110, 'b'),  // well over the limit once escaped
      "a" + std::string(199, '/'),                   // the cut falls inside an escape …
      "ab" + std::string(198, '/'),                  // … at either of its places
  };
  OutboxProvider p("outbox", outbox, Channel::email, fake_eml);
  std::set<std::string> names;
  for (const auto& id : ids) {
    const std::string name = OutboxProvider::file_name_for(id);
    names.insert(name);
    EXPECT_LE(name.size() + std::string(".eml.tmp").size(), 255u) << id;
    EXPECT_NE(name.front(), '.');
    EXPECT_EQ(name.find('/'), std::string::npos);
    EXPECT_TRUE(percent_decode(name.substr(0, name.find('~')), false))
        << name << ": a shortened name keeps whole escapes";
    const Outcome o = send_sync(io, p, mail(id));
    EXPECT_EQ(o.kind, OutcomeKind::accepted) << id << ": " << o.error;
    EXPECT_TRUE(p.already_accepted("", id)) << id;
  }
  EXPECT_EQ(names.size(), ids.size()) << "long ids that share a prefix keep their own files";
  EXPECT_EQ(files_in(outbox / "email").size(), ids.size());
  EXPECT_EQ(OutboxProvider::file_name_for(std::string(200, 'a')), std::string(200, 'a'))
      << "a name that fits is the plain escaped id";
}

TEST_F(OutboxTest, AlreadyAcceptedForEmailOnlyOnceWritten) {
  OutboxProvider p("outbox", outbox, Channel::email, fake_eml);
  EXPECT_FALSE(p.already_accepted("", "m-1"));
  ASSERT_EQ(send_sync(io, p, mail("m-1")).kind, OutcomeKind::accepted);
  EXPECT_TRUE(p.already_accepted("", "m-1"));
  EXPECT_FALSE(p.already_accepted("", "m-10"));
  EXPECT_FALSE(p.already_accepted("", "m-"));
  EXPECT_FALSE(p.already_accepted("", "M-1"));
}

TEST_F(OutboxTest, AHalfWrittenEmailIsNotAccepted) {
  // A consumer killed while writing leaves only the temporary file.
  OutboxProvider p("outbox", outbox, Channel::email, fake_eml);
  write_file((outbox / "email" / "m-1.eml.tmp").string(), "Subject: cut sh");
  EXPECT_FALSE(p.already_accepted("", "m-1"));
  ASSERT_EQ(send_sync(io, p, mail("m-1")).kind, OutcomeKind::accepted);
  EXPECT_TRUE(p.already_accepted("", "m-1"));
  EXPECT_EQ(read_file((outbox / "email" / "m-1.eml").string()), fake_eml(mail("m-1")));
}

TEST_F(OutboxTest, ASuccessorSeesWhatItsPredecessorAccepted) {
  {
    OutboxProvider first("outbox", outbox, Channel::email, fake_eml);
    ASSERT_EQ(send_sync(io, first, mail("m-1")).kind, OutcomeKind::accepted);
  }
  OutboxProvider second("outbox", outbox, Channel::email, fake_eml);
  EXPECT_TRUE(second.already_accepted("", "m-1"));
  EXPECT_FALSE(second.already_accepted("", "m-2"));
}

TEST_F(OutboxTest, AFileThatCannotBeWrittenIsATransientFailure) {
  OutboxProvider p("outbox", outbox, Channel::email, fake_eml);
  fs::create_directories(outbox / "email" / "m-1.eml");  // a directory where the file would go
  const Outcome o = send_sync(io, p, mail("m-1"));
  EXPECT_EQ(o.kind, OutcomeKind::transient);
  EXPECT_NE(o.error.find("outbox"), std::string::npos) << o.error;
  EXPECT_EQ(p.in_flight(), 0u);
}

TEST_F(OutboxTest, AnSmsIsOneJsonLineWithTheIdFirst) {
  OutboxProvider p("outbox", outbox, Channel::sms, fake_eml);
  const Outcome o = send_sync(io, p, sms("s-1"));
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  EXPECT_EQ(o.provider_message_id, "outbox:s-1");
  const std::string text = read_file((outbox / "sms.jsonl").string());
  EXPECT_EQ(text.rfind("{\"id\":\"s-1\",", 0), 0u) << text;
  ASSERT_EQ(text.back(), '\n');
  const auto got = lines(outbox / "sms.jsonl");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (json{{"id", "s-1"},
                          {"channel", "sms"},
                          {"to", "+819012345678"},
                          {"purpose", "reservation.reminder"},
                          {"text", sms("s-1").sms_text}}))
      << "no campaign key when there is none";
  EXPECT_FALSE(fs::exists(outbox / "email")) << "only the e-mail outbox has a folder";
}

TEST_F(OutboxTest, APushIsOneJsonLineWithItsPlatformTitleBodyAndData) {
  OutboxProvider p("outbox", outbox, Channel::push, fake_eml);
  ASSERT_EQ(send_sync(io, p, push("p-1")).kind, OutcomeKind::accepted);
  const auto got = lines(outbox / "push.jsonl");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (json{{"id", "p-1"},
                          {"channel", "push"},
                          {"to", "tok-1"},
                          {"purpose", "reservation.reminder"},
                          {"campaign", "remind-24h"},
                          {"platform", "fcm"},
                          {"title", "さくら歯科"},
                          {"body", "明日10:00のご予約"},
                          {"data", {{"rid", "r_123"}}}}));
}

TEST_F(OutboxTest, ALineMessageIsOneJsonLineWithItsUserIdAndText) {
  OutboxProvider p("outbox", outbox, Channel::line, fake_eml);
  Envelope e;
  e.message_id = "l-1";
  e.sender = "clinic:42";
  e.channel = Channel::line;
  e.to = "U4af4980629d4a3e1b9b5b1e5b6a1c2d3";
  e.purpose = "reservation.reminder";
  e.line_text = "さくら歯科です。明日10:00のご予約をお待ちしております。";
  const Outcome o = send_sync(io, p, e);
  EXPECT_EQ(o.kind, OutcomeKind::accepted) << o.error;
  EXPECT_EQ(o.provider_message_id, "outbox:clinic:42/l-1");
  const std::string text = read_file((outbox / "line.jsonl").string());
  EXPECT_EQ(text.rfind("{\"id\":\"l-1\",\"sender\":\"clinic:42\",", 0), 0u) << text;
  const auto got = lines(outbox / "line.jsonl");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (json{{"id", "l-1"},
                          {"sender", "clinic:42"},
                          {"channel", "line"},
                          {"to", "U4af4980629d4a3e1b9b5b1e5b6a1c2d3"},
                          {"purpose", "reservation.reminder"},
                          {"text", e.line_text}}));
  EXPECT_TRUE(p.already_accepted("clinic:42", "l-1"));
  EXPECT_FALSE(p.already_accepted("clinic:43", "l-1"));
  EXPECT_FALSE(p.already_accepted("clinic:42", "l-2"));
  EXPECT_FALSE(fs::exists(outbox / "push.jsonl")) << "LINE has its own file";
}

TEST_F(OutboxTest, LinesAreAppendedAcrossProvidersAndRestarts) {
  {
    OutboxProvider p("outbox", outbox, Channel::sms, fake_eml);
    for (int i = 0; i < 5; ++i)
      ASSERT_EQ(send_sync(io, p, sms("s-" + std::to_string(i))).kind, OutcomeKind::accepted);
  }
  OutboxProvider again("outbox", outbox, Channel::sms, fake_eml);
  ASSERT_EQ(send_sync(io, again, sms("s-5")).kind, OutcomeKind::accepted);
  const auto got = lines(outbox / "sms.jsonl");
  ASSERT_EQ(got.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(got[i]["id"], "s-" + std::to_string(i));
}

TEST_F(OutboxTest, AlreadyAcceptedForLineChannelsMatchesTheWholeId) {
  OutboxProvider p("outbox", outbox, Channel::sms, fake_eml);
  EXPECT_FALSE(p.already_accepted("", "s-1"));
  ASSERT_EQ(send_sync(io, p, sms("s-1")).kind, OutcomeKind::accepted);
  ASSERT_EQ(send_sync(io, p, sms("quote\"and\\slash")).kind, OutcomeKind::accepted);
  EXPECT_TRUE(p.already_accepted("", "s-1"));
  EXPECT_TRUE(p.already_accepted("", "quote\"and\\slash")) << "ids are matched as JSON strings";
  EXPECT_FALSE(p.already_accepted("", "s-10")) << "not a prefix match";
  EXPECT_FALSE(p.already_accepted("", "s-"));
  EXPECT_FALSE(p.already_accepted("", "s"));
  EXPECT_FALSE(p.already_accepted("", "+819012345678")) << "only the id field counts";
  EXPECT_FALSE(p.already_accepted("", "reservation.reminder"));
}

TEST_F(OutboxTest, AlreadyAcceptedForPushAcrossARestart) {
  {
    OutboxProvider p("outbox", outbox, Channel::push, fake_eml);
    ASSERT_EQ(send_sync(io, p, push("p-1")).kind, OutcomeKind::accepted);
    EXPECT_TRUE(p.already_accepted("", "p-1")) << "visible at once to the provider that wrote it";
  }
  OutboxProvider successor("outbox", outbox, Channel::push, fake_eml);
  EXPECT_TRUE(successor.already_accepted("", "p-1"));
  EXPECT_FALSE(successor.already_accepted("", "p-2"));
  OutboxProvider sms_side("outbox", outbox, Channel::sms, fake_eml);
  EXPECT_FALSE(sms_side.already_accepted("", "p-1")) << "each line channel has its own file";
}

TEST_F(OutboxTest, AnOutboxThatCannotBeCreatedIsAStartUpError) {
  write_file((dir.path() / "not-a-dir").string(), "x");
  EXPECT_THROW(
      OutboxProvider("outbox", dir.path() / "not-a-dir" / "outbox", Channel::email, fake_eml),
      std::runtime_error);
  EXPECT_THROW(
      OutboxProvider("outbox", dir.path() / "not-a-dir" / "outbox", Channel::sms, fake_eml),
      std::runtime_error);
}

}  // namespace
}  // namespace dispatcher::channels
