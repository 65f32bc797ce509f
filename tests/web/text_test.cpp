// The shared helpers of the HTTP surface: form bodies and targets, JSON nesting.
#include "web/text.hpp"

#include <gtest/gtest.h>

namespace dispatcher::web {
namespace {

TEST(Form, DecodesPairsInOrderAndRejectsBadEscapes) {
  auto f = parse_form("List-Unsubscribe=One-Click");
  ASSERT_TRUE(f);
  ASSERT_EQ(f->size(), 1u);
  EXPECT_EQ((*f)[0].first, "List-Unsubscribe");
  EXPECT_EQ((*f)[0].second, "One-Click");
  auto g = parse_form("From=%2B819012345678&Body=%E9%85%8D%E4%BF%A1%E5%81%9C%E6%AD%A2&a=b+c&a=d");
  ASSERT_TRUE(g);
  EXPECT_EQ((*g)[0].second, "+819012345678");
  EXPECT_EQ((*g)[1].second, "配信停止");
  EXPECT_EQ((*g)[2].second, "b c");
  EXPECT_EQ((*g)[3].second, "d");
  EXPECT_FALSE(parse_form("a=%zz"));
  EXPECT_FALSE(parse_form("a=%4"));
  auto [path, q] = split_target("/u/abc?lang=en&saved=1");
  EXPECT_EQ(path, "/u/abc");
  EXPECT_EQ(q["lang"], "en");
}

TEST(JsonDepth, CountsNestingOutsideStrings) {
  EXPECT_FALSE(json_too_deep(R"({"a":[1,2,{"b":"[[[[[["}]})", 3));
  EXPECT_TRUE(json_too_deep("[[[[1]]]]", 3));
  EXPECT_FALSE(json_too_deep("[[[1]]]", 3));
  EXPECT_FALSE(json_too_deep(R"(["\"[[[[["])", 1));
  EXPECT_TRUE(json_too_deep(std::string(33, '[') + std::string(33, ']'), 32));
}

}  // namespace
}  // namespace dispatcher::web
