#include "dispatcher/logging.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdio>
#include <mutex>

namespace dispatcher {

namespace {

bool is_local_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '+' || c == '-' || c == '%';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class MaskingStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string line = mask_personal(std::string_view(formatted.data(), formatted.size()));
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

std::string mask_personal(std::string_view in) {
  std::string out(in);
  // E-mail: keep the first character of the local part and the domain.
  for (std::size_t at = out.find('@'); at != std::string::npos; at = out.find('@', at + 1)) {
    std::size_t start = at;
    while (start > 0 && is_local_char(out[start - 1])) --start;
    if (start == at || at + 1 >= out.size() || !std::isalnum(static_cast<unsigned char>(out[at + 1]))) continue;
    for (std::size_t i = start + 1; i < at; ++i) out[i] = '*';
  }
  // Phone: +<8 or more digits>, or a domestic 0XXXXXXXXX(X), keeps its first 2 and last 3 digits.
  for (std::size_t i = 0; i < out.size();) {
    if (!is_digit(out[i]) || (i > 0 && (is_digit(out[i - 1]) || std::isalpha(static_cast<unsigned char>(out[i - 1]))))) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < out.size() && is_digit(out[j])) ++j;
    const bool plus = i > 0 && out[i - 1] == '+';
    if (j - i >= 8 && (plus || ((j - i == 10 || j - i == 11) && out[i] == '0')))
      for (std::size_t k = i + 2; k + 3 < j; ++k) out[k] = '*';
    i = j;
  }
  return out;
}

void setup_logging(const std::string& level) {
  auto logger = std::make_shared<spdlog::logger>("dispatcher", std::make_shared<MaskingStderrSink>());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

}  // namespace dispatcher
