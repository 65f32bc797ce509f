#include "app/serve_verb.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "channels/builtin.hpp"
#include "codec/mask.hpp"
#include "config/logging.hpp"
#include "config/private_files.hpp"
#include "dispatcher/runtime.hpp"
#include "store/redis/sync_client.hpp"
#include "web/api_keys.hpp"
#include "web/server.hpp"

namespace dispatcher::web {

namespace {

struct ServeArgs {
  ServeOptions options;
  std::string keys_file;
  std::string twilio_env;
};

int run_serve(const verbs::Common& common, const ServeArgs& args) {
  // Templates too: intake refuses unknown template names at once (400), not at delivery.
  Runtime rt = open_runtime(common.config_file, Needs{true, true});
  setup_logging(rt.config.log_level, &mask_personal);
  ServeOptions o = args.options;
  ApiKeys keys;
  std::string keys_file = args.keys_file;
  if (keys_file.empty() && std::filesystem::exists("config/api_keys.yaml"))
    keys_file = "config/api_keys.yaml";
  if (!keys_file.empty()) keys = ApiKeys::load(keys_file);
  if (!args.twilio_env.empty()) {
    const char* v = std::getenv(args.twilio_env.c_str());
    if (!v || !*v)
      throw std::runtime_error("environment variable " + args.twilio_env + " is not set");
    o.twilio_auth_token = v;
  }
  // The LINE webhook is verified with the secrets of the line providers' own entries.
  o.line_channel_secrets = channels::line_channel_secrets(rt.config.channels);
  config::warn_readable_by_others(rt.config);
  return serve(rt, keys, o);
}

}  // namespace

void add_serve_verb(CLI::App& app, const verbs::Common& common, verbs::Verbs& out) {
  auto args = std::make_shared<ServeArgs>();
  auto* serve_cmd = app.add_subcommand(
      "serve", "the HTTP surface: intake, unsubscribe pages, webhooks, subjects, metrics");
  serve_cmd
      ->add_option("--listen", args->options.listen,
                   "HOST:PORT (port 0: any free port, printed on stdout)")
      ->capture_default_str();
  serve_cmd->add_option("--keys", args->keys_file,
                        "API keys file (default: config/api_keys.yaml if present)");
  serve_cmd->add_option(
      "--twilio-auth-token-env", args->twilio_env,
      "environment variable holding Twilio's auth token (inbound SMS signatures)");
  serve_cmd->add_option("--public-url", args->options.public_url,
                        "external base URL Twilio signs (scheme://host[:port]); required with "
                        "--twilio-auth-token-env");
  serve_cmd
      ->add_option("--max-connections-per-client", args->options.max_connections_per_client,
                   "concurrent connections one client address may hold")
      ->capture_default_str();
  serve_cmd
      ->add_option("--max-connections", args->options.max_connections,
                   "concurrent connections in all (kept below the fd limit; at the cap the "
                   "oldest idle one is closed)")
      ->capture_default_str();
  serve_cmd
      ->add_option(
          "--header-timeout",
          [args](const CLI::results_t& r) {
            args->options.header_timeout = std::chrono::seconds(std::stol(r.at(0)));
            return args->options.header_timeout.count() > 0;
          },
          "seconds a connection may take to send a request's headers (idle ones are closed)")
      ->default_str("10");
  out.push_back({serve_cmd, [&common, args] { return run_serve(common, *args); }});

  auto* apikey = app.add_subcommand("apikey", "API keys of the HTTP surface");
  apikey->require_subcommand(1);
  auto* newkey = apikey->add_subcommand(
      "new", "print a fresh key once, and the entry to add to the keys file");
  auto sender = std::make_shared<std::string>();
  newkey->add_option("sender", *sender, "operator or clinic:<id>")->required();
  out.push_back({newkey, [sender] {
                   NewKey k = new_api_key(*sender);
                   std::printf("%s\n", k.key.c_str());
                   std::fprintf(stderr,
                                "the key is shown only now; add this line to the keys file "
                                "(config/api_keys.yaml):\n");
                   std::printf("%s\n", k.yaml_entry.c_str());
                   return 0;
                 }});
}

}  // namespace dispatcher::web
