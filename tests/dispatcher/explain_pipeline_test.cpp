// `explain` is the run without sending (DESIGN.md "The command line"): it renders, so a message
// its template cannot take is the dead letter the run will make; it names every bad line by
// number on stdout and stderr and exits 1; `enqueue` queues none of those lines. Over the same
// file, `run` dead-letters exactly what explain predicted.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "dispatcher/dispatcher_env.hpp"

namespace testing_support {
namespace {

using nlohmann::json;

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::vector<std::string> text_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

TEST(Explain, ThousandLinesThreeBadTwoUnrenderable) {
  DispatcherEnv env;
  // 1,000 lines: 995 good reminders; lines 10, 500, 999 not messages; lines 100 and 700 lack a
  // variable their template needs.
  std::string text;
  std::set<std::string> unrenderable;
  for (int n = 1; n <= 1000; ++n) {
    json m = sms_reminder("r-" + std::to_string(n), n);
    if (n == 10) {
      text += "{not json\n";
      continue;
    }
    if (n == 500) m["channels"] = {"fax"};
    if (n == 999) m.erase("sender");
    if (n == 100 || n == 700) {
      m["data"].erase("clinic_name");
      unrenderable.insert(m["id"].get<std::string>());
    }
    text += m.dump() + "\n";
  }

  auto explain = env.run({"explain", "--now", "2026-12-01T12:00:00+09:00", "-"}, text);
  EXPECT_EQ(explain.exit_code, 1) << "some lines were not messages";
  const auto lines = json_lines(explain.out);
  ASSERT_EQ(lines.size(), 1000u) << "one decision per input line";
  std::map<int, json> bad;
  std::set<std::string> template_dead;
  std::size_t sent = 0;
  for (const auto& l : lines) {
    if (l.contains("line")) bad[l["line"].get<int>()] = l;
    if (l.value("reason", "") == "template_missing_variable:clinic_name") {
      EXPECT_EQ(l["decision"], "deny");
      EXPECT_EQ(l["dead_letter"], true);
      template_dead.insert(l["id"].get<std::string>());
    }
    if (l["decision"] == "send") ++sent;
  }
  ASSERT_EQ(bad.size(), 3u) << explain.out.substr(0, 2000);
  EXPECT_EQ(bad[10], json({{"line", 10},
                           {"id", nullptr},
                           {"decision", "deny"},
                           {"reason", "invalid_message:not_json"},
                           {"dead_letter", true}}));
  EXPECT_EQ(bad[500]["id"], "r-500");
  EXPECT_EQ(bad[500]["reason"], "invalid_message:unknown_channel");
  EXPECT_EQ(bad[999]["reason"], "invalid_message:missing_sender");
  EXPECT_EQ(template_dead, unrenderable);
  EXPECT_EQ(sent, 995u);
  const auto err = text_lines(explain.err);
  ASSERT_EQ(err.size(), 3u) << explain.err;
  EXPECT_EQ(err[0].rfind("line 10: - invalid_message:not_json: ", 0), 0u) << err[0];
  EXPECT_EQ(err[1].rfind("line 500: r-500 invalid_message:unknown_channel: ", 0), 0u) << err[1];
  EXPECT_EQ(err[2].rfind("line 999: r-999 invalid_message:missing_sender: ", 0), 0u) << err[2];

  // --summary counts the same decisions and exits the same way.
  auto summary = env.run({"explain", "--summary", "--now", "2026-12-01T12:00:00+09:00", "-"}, text);
  EXPECT_EQ(summary.exit_code, 1);
  auto s = json::parse(summary.out);
  EXPECT_EQ(s["messages"], 1000);
  EXPECT_EQ(s["decisions"]["send"], 995);
  EXPECT_EQ(s["reasons"]["template_missing_variable:clinic_name"], 2);

  // enqueue: the same three lines refused with the same words, the rest queued.
  auto enq = env.run({"enqueue", "-"}, text);
  EXPECT_EQ(enq.exit_code, 1);
  std::size_t refused = 0;
  for (const auto& l : text_lines(enq.err))
    if (l.rfind("line ", 0) == 0) {
      EXPECT_NE(std::find(err.begin(), err.end(), l), err.end()) << l;
      ++refused;
    }
  EXPECT_EQ(refused, 3u) << enq.err;
  EXPECT_EQ(env.redis().run(dispatcher::redis::cmd("XLEN", "dsp:stream")).integer, 997);

  // run: exactly the two explain predicted are dead letters, every other one is sent once.
  ASSERT_EQ(env.run({"run", "--until-idle"}).exit_code, 0);
  std::set<std::string> dead;
  for (const auto& d : env.dead_letters()) {
    EXPECT_EQ(d["reason"], "template_missing_variable:clinic_name");
    dead.insert(json::parse(d["payload"].get<std::string>())["id"].get<std::string>());
  }
  EXPECT_EQ(dead, unrenderable);
  EXPECT_EQ(env.sms_lines().size(), 995u);

  // Explained again, the delivered ids are duplicates: the run already decided them.
  auto after = env.run({"explain", "-"}, sms_reminder("r-1", 1).dump() + "\n");
  EXPECT_EQ(after.exit_code, 0);
  EXPECT_EQ(json::parse(after.out), json({{"id", "r-1"}, {"decision", "duplicate"}}));
}

}  // namespace
}  // namespace testing_support
