// The route table's matcher: method + path pattern → handler. Pure: no I/O, tested without a
// socket. Patterns are literal segments and {name} captures, one segment each
// ("/v1/messages/{id}"); a pattern is also its route's label in /metrics and the log.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dispatcher::web {

class Exchange;
using ExchangePtr = std::shared_ptr<Exchange>;
using Handler = void (*)(const ExchangePtr&);

struct Route {
  boost::beast::http::verb method;
  std::string_view pattern;
  Handler handler;
};

class Router {
 public:
  // Start-up: throws std::invalid_argument for a malformed pattern or a method listed twice for
  // one pattern. `routes` must outlive the router (the table is a static list).
  explicit Router(std::span<const Route> routes);

  struct Match {
    const Route* route = nullptr;        // set when both the path and the method matched
    std::string_view label = "unknown";  // the pattern the path matched
    std::vector<std::string> params;     // the {…} segments in order, as sent (not decoded)
    std::string allow;  // the path matched but not the method: the methods it takes (405)
  };
  // No pattern matches the path: route null, allow empty (404). A pattern matches but not with
  // this method: route null, allow set (405). Empty segments are skipped ("/healthz/" is
  // "/healthz"); where two patterns match, a literal segment wins over a capture.
  Match match(boost::beast::http::verb method, std::string_view path) const;

 private:
  struct Segment {
    std::string_view text;  // the literal, or the capture's name
    bool capture = false;
  };
  struct Pattern {
    std::string_view text;
    std::vector<Segment> segments;
    std::vector<const Route*> routes;  // one per method, in table order
  };
  std::vector<Pattern> patterns_;
};

// A path split into its non-empty segments.
std::vector<std::string_view> path_segments(std::string_view path);

}  // namespace dispatcher::web
