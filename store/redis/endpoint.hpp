// Where Redis is: "redis://host:port[/db]" or "unix:///path/to.sock[?db=N]".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dispatcher::redis {

struct Endpoint {
  std::string host;  // empty for a Unix socket
  int port = 6379;
  std::string socket_path;
  int db = 0;
  std::string password;
};

std::optional<Endpoint> parse_endpoint(std::string_view url);

}  // namespace dispatcher::redis
