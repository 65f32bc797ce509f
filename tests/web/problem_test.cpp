// The one error shape of the HTTP surface: RFC 9457 problem documents.
#include "web/problem.hpp"

#include <gtest/gtest.h>

namespace dispatcher::web {
namespace {

using boost::beast::http::status;

TEST(Problem, CarriesTypeTitleStatusDetail) {
  auto p = problem(status::not_found, "no such message");
  EXPECT_EQ(p, nlohmann::json({{"type", "about:blank"},
                               {"title", "Not Found"},
                               {"status", 404},
                               {"detail", "no such message"}}));
  EXPECT_EQ(problem_content_type, "application/problem+json");
}

TEST(Problem, AReasonAndErrorsWhenGiven) {
  auto p = problem(status::forbidden, "1 of 1 message refused", "clinic_no_relation",
                   nlohmann::json::array({{{"index", 0}, {"reason", "clinic_no_relation"}}}));
  EXPECT_EQ(p["title"], "Forbidden");
  EXPECT_EQ(p["reason"], "clinic_no_relation");
  EXPECT_EQ(p["errors"][0]["index"], 0);
}

TEST(Problem, TextIsOneLineAndSurvivesBytesThatAreNotUtf8) {
  auto text = problem_text(problem(status::bad_request, std::string("bad \xff id")));
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1);
  EXPECT_NE(text.find("\"status\":400"), std::string::npos);
}

}  // namespace
}  // namespace dispatcher::web
