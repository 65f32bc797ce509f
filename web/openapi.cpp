#include "web/openapi.hpp"

#include <string>

#include "web/exchange.hpp"

namespace dispatcher::web {

void get_openapi(const ExchangePtr& x) {
  x->send(http::status::ok, std::string(openapi_document()), "application/json");
}

}  // namespace dispatcher::web
