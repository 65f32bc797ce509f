#include "config/error_kind.hpp"

namespace dispatcher {

std::string_view to_string(ErrorKind k) noexcept {
  switch (k) {
    case ErrorKind::none:
      return "none";
    case ErrorKind::network:
      return "network";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::client:
      return "client";
    case ErrorKind::server:
      return "server";
  }
  return "?";
}

ErrorKind kind_of(const std::error_code& ec) noexcept {
  if (!ec) return ErrorKind::none;
  if (const auto* ours = dynamic_cast<const KindedCategory*>(&ec.category()))
    return ours->kind(ec.value());
  return ErrorKind::server;
}

}  // namespace dispatcher
