// What `explain` and `enqueue` say of a line that is not a message (DESIGN.md): its line
// number, its id when it has a readable one, and the deny it would be dead-lettered with.
#include "app/bad_lines.hpp"

#include <gtest/gtest.h>

namespace dispatcher::verbs {
namespace {

TEST(BadLines, TheIdIsTakenOnlyWhenItIsReadable) {
  EXPECT_EQ(readable_id(R"({"id": "rsv-1", "purpose": 3})"), "rsv-1");
  EXPECT_EQ(readable_id("{not json"), "");
  EXPECT_EQ(readable_id(R"(["rsv-1"])"), "");
  EXPECT_EQ(readable_id(R"({"id": 7})"), "");
  EXPECT_EQ(readable_id(R"({"id": "two words"})"), "") << "what is printed stays one token";
  EXPECT_EQ(readable_id(R"({"id": ")" + std::string(201, 'x') + "\"}"), "");
}

TEST(BadLines, ExplainPrintsTheLineAndTheDeadLetterItWouldBe) {
  auto j = explain_json({12, "rsv-1", "invalid_message:unknown_channel", "channels may hold …"});
  EXPECT_EQ(j, nlohmann::json({{"line", 12},
                               {"id", "rsv-1"},
                               {"decision", "deny"},
                               {"reason", "invalid_message:unknown_channel"},
                               {"dead_letter", true}}));
  EXPECT_TRUE(explain_json({3, "", "invalid_message:not_json", "x"})["id"].is_null());
}

}  // namespace
}  // namespace dispatcher::verbs
