// GET /openapi.json's document and the route table are one set: every route of routes() is a
// path + method of the document and every documented operation is a route, so neither can be
// added, renamed or dropped without the other. (tests/web/openapi_test.py checks each route's
// real answers against the document.)
#include "web/openapi.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/beast/http/verb.hpp>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "web/app.hpp"

namespace dispatcher::web {
namespace {

using json = nlohmann::json;
using Operation = std::pair<std::string, std::string>;  // path, lower-case method

json document() { return json::parse(openapi_document(), nullptr, false); }

std::set<Operation> table_operations() {
  std::set<Operation> out;
  for (const Route& r : routes()) {
    std::string method(boost::beast::http::to_string(r.method));
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    out.insert({std::string(r.pattern), method});
  }
  return out;
}

// The operations of a path item: its HTTP method keys (not "parameters", "summary" …).
std::set<Operation> documented_operations(const json& doc) {
  static const std::set<std::string> methods{"get",     "put",  "post",  "delete",
                                             "options", "head", "patch", "trace"};
  std::set<Operation> out;
  for (const auto& [path, item] : doc.at("paths").items())
    for (const auto& [key, _] : item.items())
      if (methods.count(key)) out.insert({path, key});
  return out;
}

std::string names(const std::set<Operation>& ops) {
  std::string out;
  for (const auto& [path, method] : ops) out += "\n  " + method + " " + path;
  return out;
}

TEST(OpenApi, IsTheFileInTheTreeByteForByte) {
  std::ifstream in(std::string(DISPATCHER_SOURCE_DIR) + "/web/openapi.json", std::ios::binary);
  ASSERT_TRUE(in) << "web/openapi.json not found";
  std::ostringstream file;
  file << in.rdbuf();
  EXPECT_EQ(openapi_document(), file.str());
}

TEST(OpenApi, IsAnOpenApi31Document) {
  const json doc = document();
  ASSERT_TRUE(doc.is_object()) << "web/openapi.json is not JSON";
  EXPECT_EQ(doc.value("openapi", ""), "3.1.0");
  ASSERT_TRUE(doc.contains("paths"));
  for (const char* schema : {"Message", "Problem", "IntakeProblem", "Accepted"})
    EXPECT_TRUE(doc["components"]["schemas"].contains(schema)) << schema;
}

TEST(OpenApi, DocumentsEveryRouteAndNothingElse) {
  const json doc = document();
  ASSERT_TRUE(doc.is_object());
  const std::set<Operation> table = table_operations(), documented = documented_operations(doc);
  std::set<Operation> undocumented, not_routes;
  std::set_difference(table.begin(), table.end(), documented.begin(), documented.end(),
                      std::inserter(undocumented, undocumented.end()));
  std::set_difference(documented.begin(), documented.end(), table.begin(), table.end(),
                      std::inserter(not_routes, not_routes.end()));
  EXPECT_TRUE(undocumented.empty())
      << "routes of web/app.cpp missing from web/openapi.json:" << names(undocumented);
  EXPECT_TRUE(not_routes.empty()) << "operations of web/openapi.json that are no route:"
                                  << names(not_routes);
  EXPECT_EQ(table.size(), routes().size()) << "a route is listed twice";
}

// Every "$ref" points at something the document holds, so a validator resolving them (the
// Python test's) never meets a dangling one and no response's shape silently goes unchecked.
TEST(OpenApi, EveryReferenceResolves) {
  const json doc = document();
  ASSERT_TRUE(doc.is_object());
  std::size_t seen = 0;
  auto walk = [&](const auto& self, const json& node) -> void {
    if (node.is_object()) {
      if (auto ref = node.find("$ref"); ref != node.end() && ref->is_string()) {
        ++seen;
        const std::string target = ref->get<std::string>();
        ASSERT_EQ(target.rfind("#/", 0), 0u) << target << ": only local references";
        EXPECT_TRUE(doc.contains(json::json_pointer(target.substr(1)))) << target;
      }
      for (const auto& [_, v] : node.items()) self(self, v);
    } else if (node.is_array()) {
      for (const auto& v : node) self(self, v);
    }
  };
  walk(walk, doc);
  EXPECT_GT(seen, 0u);
}

}  // namespace
}  // namespace dispatcher::web
