#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "app/verbs.hpp"
#include "codec/mask.hpp"
#include "config/config.hpp"
#include "config/logging.hpp"
#include "config/yaml_reader.hpp"
#include "policy/policy.hpp"
#include "store/redis/sync_client.hpp"
#include "templates/catalog.hpp"

namespace dispatcher::verbs {

bool for_each_line(const std::string& file,
                   const std::function<void(std::string_view, std::size_t)>& f,
                   std::string& error) {
  std::ifstream in;
  std::istream* src = &std::cin;
  if (!file.empty() && file != "-") {
    in.open(file);
    if (!in) {
      error = file + ": cannot be read";
      return false;
    }
    src = &in;
  }
  std::string line;
  std::size_t n = 0;
  while (std::getline(*src, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    f(line, n);
  }
  return true;
}

int main(int argc, char** argv, const std::vector<Registrar>& extra) {
  CLI::App app{
      "dispatcher: sends reminders and notices by e-mail, SMS and push, within the privacy policy"};
  app.require_subcommand(1);
  Common common;
  app.add_option("--config", common.config_file,
                 "config file (default: config/dispatcher.yaml if present)");
  Verbs verbs;
  add_queue_verbs(app, common, verbs);
  add_subject_verbs(app, common, verbs);
  add_check_verbs(app, common, verbs);
  add_store_verbs(app, common, verbs);
  add_request_verbs(app, common, verbs);
  for (Registrar r : extra) r(app, common, verbs);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (const Verb& v : verbs)
      if (v.command->parsed()) return v.run();
  } catch (const config::LoadError& e) {  // dispatcher.yaml, its providers, the policy file
    for (const auto& line : e.errors())
      std::fprintf(stderr, "dispatcher: %s: %s\n", e.subject().c_str(), line.c_str());
    return 2;
  } catch (const templates::LoadError& e) {
    for (const auto& line : e.errors())
      std::fprintf(stderr, "dispatcher: template: %s\n", line.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dispatcher: %s\n", mask_personal(e.what()).c_str());
    return 1;
  }
  return 1;
}

}  // namespace dispatcher::verbs
