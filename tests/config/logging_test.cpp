#include "config/logging.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>

namespace dispatcher {
namespace {

// Sends this process's stderr (file descriptor 2) to a scratch file while it lives.
class CapturedStderr {
 public:
  CapturedStderr() {
    char name[] = "/tmp/logging-test-XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd < 0) throw std::runtime_error("mkstemp");
    path_ = name;
    std::fflush(stderr);
    saved_ = ::dup(2);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~CapturedStderr() {
    restore();
    std::remove(path_.c_str());
  }
  // Everything written so far (stderr restored first).
  std::string text() {
    restore();
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    if (auto logger = spdlog::default_logger()) logger->flush();
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  std::string path_;
  int saved_ = -1;
};

int filtered_lines = 0;

// Stands in for the masker of personal data: one address it knows, hidden.
std::string hide_address(std::string_view line) {
  ++filtered_lines;
  std::string out(line);
  const std::string address = "hanako@example.jp";
  for (auto pos = out.find(address); pos != std::string::npos; pos = out.find(address))
    out.replace(pos, address.size(), "h***@example.jp");
  return out;
}

TEST(Logging, EveryLinePassesThroughTheFilter) {
  filtered_lines = 0;
  CapturedStderr captured;
  setup_logging("info", &hide_address);
  spdlog::info("sent to {}", "hanako@example.jp");
  spdlog::warn("bounced: {} ({})", "hanako@example.jp", "hanako@example.jp");
  const std::string text = captured.text();
  EXPECT_EQ(text.find("hanako@example.jp"), std::string::npos) << text;
  EXPECT_NE(text.find("sent to h***@example.jp"), std::string::npos) << text;
  EXPECT_NE(text.find("bounced: h***@example.jp (h***@example.jp)"), std::string::npos) << text;
  EXPECT_EQ(filtered_lines, 2);
}

TEST(Logging, OneLinePerEventWithTimeAndLevel) {
  CapturedStderr captured;
  setup_logging("debug", &hide_address);
  spdlog::debug("first");
  spdlog::error("second");
  const std::string text = captured.text();
  const std::regex line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} (debug|error) (first|second)\n)");
  std::smatch m;
  std::string rest = text;
  int lines = 0;
  while (std::regex_search(rest, m, line) && m.position(0) == 0) {
    ++lines;
    rest = m.suffix();
  }
  EXPECT_EQ(lines, 2) << text;
  EXPECT_TRUE(rest.empty()) << "unexpected output: " << rest;
}

TEST(Logging, TheLevelHoldsBackLesserLines) {
  filtered_lines = 0;
  CapturedStderr captured;
  setup_logging("warn", &hide_address);
  spdlog::debug("debug line");
  spdlog::info("info line");
  spdlog::warn("warn line");
  spdlog::error("error line");
  const std::string text = captured.text();
  EXPECT_EQ(text.find("debug line"), std::string::npos);
  EXPECT_EQ(text.find("info line"), std::string::npos);
  EXPECT_NE(text.find("warn line"), std::string::npos) << text;
  EXPECT_NE(text.find("error line"), std::string::npos) << text;
  EXPECT_EQ(filtered_lines, 2) << "lines held back are not even formatted";
}

TEST(Logging, OffIsSilent) {
  CapturedStderr captured;
  setup_logging("off", &hide_address);
  spdlog::error("nothing");
  EXPECT_EQ(captured.text(), "");
}

}  // namespace
}  // namespace dispatcher
