// GET /openapi.json: the OpenAPI 3.1 document of every route. The document is web/openapi.json,
// compiled in byte for byte at build time (scripts/embed_text.cmake), so what is served is what is
// reviewed; tests/web/openapi_test.cpp keeps its paths and the route table (app.cpp) one set,
// and tests/web/openapi_test.py checks every route's real answers against it.
#pragma once

#include <string_view>

#include "web/router.hpp"

namespace dispatcher::web {

// The document's text, exactly the file's bytes.
std::string_view openapi_document();

// 200 with the document as application/json: the type every client and tool (curl | jq, Swagger
// UI, code generators) takes without configuration; the registered
// application/vnd.oai.openapi+json would tell them nothing they act on.
void get_openapi(const ExchangePtr& x);

}  // namespace dispatcher::web
