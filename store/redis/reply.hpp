// Redis commands and replies as plain values.
//
// A hiredis reply lives only inside its callback (hiredis async.c), so replies are copied
// into Reply at once; commands are argv vectors so they can be built by pure code and
// pipelined by either client.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct redisReply;

namespace dispatcher::redis {

struct Command {
  std::vector<std::string> argv;
};

template <class... A>
Command cmd(A&&... args) {
  Command c;
  c.argv.reserve(sizeof...(A));
  (c.argv.emplace_back(std::forward<A>(args)), ...);
  return c;
}

struct Reply {
  enum class Type : std::uint8_t { nil, integer, string, status, error, array };
  Type type = Type::nil;
  long long integer = 0;
  std::string str;  // string, status and error
  std::vector<Reply> elements;

  bool is_nil() const noexcept { return type == Type::nil; }
  bool is_error() const noexcept { return type == Type::error; }
  bool is_string() const noexcept { return type == Type::string || type == Type::status; }
  static Reply from(const redisReply* r);
};

// The first error among replies, as "COMMAND: message", or empty.
std::string first_error(const std::vector<Command>& cmds, const std::vector<Reply>& replies);

}  // namespace dispatcher::redis
