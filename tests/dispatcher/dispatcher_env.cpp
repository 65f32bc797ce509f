#include "dispatcher/dispatcher_env.hpp"

#include <fmt/format.h>

#include <sstream>

namespace testing_support {

DispatcherEnv::DispatcherEnv(const std::string& extra_config) : redis_(tmp_.path()) {
  write_file(
      tmp_.path() / "dispatcher.yaml",
      "consumer:\n  block_ms: 100\n  visibility_timeout_ms: 1000\n  scheduler_interval_ms: 50\n"
      "  retry_base_ms: 10\n  retry_max_ms: 50\n" +
          extra_config);
}

std::map<std::string, std::string> DispatcherEnv::env() const {
  return {{"DISPATCHER_REDIS_URL", redis_.url()},
          {"DISPATCHER_DATABASE_URL", db_.url()},
          {"DISPATCHER_DATA_DIR", data_dir().string()}};
}

Result DispatcherEnv::run(const std::vector<std::string>& args, const std::string& stdin_text) {
  fs::path in;
  if (!stdin_text.empty()) {
    in = tmp_.path() / fmt::format("stdin-{}.txt", files_++);
    write_file(in, stdin_text);
  }
  std::vector<std::string> a{"--config", (tmp_.path() / "dispatcher.yaml").string()};
  a.insert(a.end(), args.begin(), args.end());
  return run_dispatcher(a, tmp_.path(), env(), in);
}

Process DispatcherEnv::spawn(const std::vector<std::string>& args) {
  std::vector<std::string> a{"--config", (tmp_.path() / "dispatcher.yaml").string()};
  a.insert(a.end(), args.begin(), args.end());
  return spawn_dispatcher(a, tmp_.path(), env());
}

Result DispatcherEnv::enqueue(const std::vector<nlohmann::json>& messages) {
  std::string text;
  for (const auto& m : messages) text += m.dump() + "\n";
  return run({"enqueue", "-"}, text);
}

void DispatcherEnv::xadd_raw(const std::vector<std::string>& lines) {
  auto r = redis();
  for (const auto& line : lines)
    r.run(dispatcher::redis::cmd("XADD", "dsp:stream", "*", "payload", line));
}

Result DispatcherEnv::put_subscribers(const std::vector<nlohmann::json>& subscribers) {
  std::string text;
  for (const auto& s : subscribers) text += s.dump() + "\n";
  return run({"subscriber", "put", "-"}, text);
}

std::vector<nlohmann::json> DispatcherEnv::history(const std::string& subject) {
  auto r = run({"history", subject});
  std::vector<nlohmann::json> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::vector<nlohmann::json> DispatcherEnv::dead_letters() {
  auto r = redis().run(dispatcher::redis::cmd("XRANGE", "dsp:dead", "-", "+"));
  std::vector<nlohmann::json> out;
  for (const auto& e : r.elements) {
    nlohmann::json j;
    const auto& f = e.elements[1].elements;
    for (std::size_t i = 0; i + 1 < f.size(); i += 2) j[f[i].str] = f[i + 1].str;
    out.push_back(j);
  }
  return out;
}

std::vector<nlohmann::json> DispatcherEnv::sms_lines() {
  std::vector<nlohmann::json> out;
  for (const auto& l : read_lines(outbox() / "sms.jsonl")) out.push_back(nlohmann::json::parse(l));
  return out;
}

std::size_t DispatcherEnv::pending() {
  auto r = redis().run(dispatcher::redis::cmd("XPENDING", "dsp:stream", "dispatchers"));
  return r.elements.empty() ? 0 : static_cast<std::size_t>(r.elements[0].integer);
}

nlohmann::json sms_reminder(const std::string& id, int patient) {
  return {{"id", id},
          {"sender", "clinic:c-1"},
          {"purpose", "reservation"},
          {"to",
           {{"contact", {{"phone", fmt::format("+81901{:07d}", 2000000 + patient)}}},
            {"clinic", "c-1"},
            {"source", "patient_registry"}}},
          {"channels", {"sms"}},
          {"template", "reservation.reminder"},
          {"data",
           {{"name", "患者" + std::to_string(patient)},
            {"clinic_name", "さくら歯科"},
            {"starts_at", "12月1日 10:00"},
            {"clinic_phone", "03-1234-5678"},
            {"reservation_url", "https://example.jp/r"}}}};
}

}  // namespace testing_support
