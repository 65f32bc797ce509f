#include "config/logging.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <mutex>

namespace dispatcher {

namespace {

class MaskingStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit MaskingStderrSink(LineFilter mask) : mask_(mask) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string line = mask_(std::string_view(formatted.data(), formatted.size()));
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  LineFilter mask_;
};

}  // namespace

void setup_logging(const std::string& level, LineFilter mask) {
  auto logger =
      std::make_shared<spdlog::logger>("dispatcher", std::make_shared<MaskingStderrSink>(mask));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

}  // namespace dispatcher
