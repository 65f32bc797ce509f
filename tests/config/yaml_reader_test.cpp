// The strict YAML reader: loading refuses what would hang or crash the reader, every mistake
// names file:line:col and the key path, and a collecting walk reports them all at once.
#include "config/yaml_reader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

namespace dispatcher::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// A read that blocks ends the test binary with SIGALRM: a failure in seconds, not a hang until
// the suite's timeout.
struct Deadline {
  explicit Deadline(unsigned seconds) { ::alarm(seconds); }
  ~Deadline() { ::alarm(0); }
};

// The lines of the LoadError that `f` throws; fails the test when it throws none.
std::vector<std::string> errors_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const LoadError& e) {
    EXPECT_FALSE(e.errors().empty());
    EXPECT_EQ(e.errors().size(), e.problems().size());
    return e.errors();
  }
  ADD_FAILURE() << "no LoadError";
  return {};
}

// Loads `yaml` as t.yaml and walks it with `walk`, collecting.
std::vector<std::string> walk_errors(const std::string& yaml,
                                     const std::function<void(Map&)>& walk) {
  return errors_of([&] {
    const Located doc = load_text(yaml, "t.yaml");
    Errors errors(doc.file);
    Map top(doc.node, "", errors);
    walk(top);
    top.finish();
    errors.raise_if_any();
  });
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::path(::testing::TempDir()) / ("yaml_reader_test_" + name);
}

TEST(YamlReader, ReadsWhatIsAskedWithDefaultsForWhatIsAbsent) {
  const Located doc = load_text(
      "name: demo\ncount: 7\nratio: 0.5\non: yes\ntags: [a, b]\nsub:\n  inner: x\n", "t.yaml");
  Errors errors(doc.file);
  Map top(doc.node, "", errors);
  EXPECT_EQ(top.str("name"), "demo");
  EXPECT_EQ(top.integer("count", 0, 1, 10), 7);
  EXPECT_EQ(top.integer("absent", 3, 1, 10), 3);
  EXPECT_DOUBLE_EQ(top.number("ratio", 0, 0, 1), 0.5);
  EXPECT_TRUE(top.boolean("on", false));
  EXPECT_THAT(top.strings("tags"), ElementsAre("a", "b"));
  EXPECT_EQ(top.str("missing", "fallback"), "fallback");
  auto sub = top.map("sub");
  EXPECT_EQ(sub.path(), "sub");
  EXPECT_EQ(sub.str("inner"), "x");
  sub.finish();
  top.finish();
  EXPECT_TRUE(errors.empty());
  EXPECT_NO_THROW(errors.raise_if_any());
}

TEST(YamlReader, UnknownKeyIsNamedAtItsLineAndColumn) {
  const auto errors = walk_errors("a: 1\nsub:\n  known: 2\n  unknwon: 3\n", [](Map& top) {
    top.integer("a", 0, 0, 9);
    auto sub = top.map("sub");
    sub.integer("known", 0, 0, 9);
    sub.finish();
  });
  EXPECT_THAT(errors, ElementsAre("t.yaml:4:3: sub.unknwon: unknown key"));
}

TEST(YamlReader, WrongTypesAreNamedAtTheValue) {
  const auto errors = walk_errors(
      "n: [1]\ns: {a: b}\nb: maybe\nl: text\nm: 5\nx: 1.5\nitems: [a, [b]]\n", [](Map& top) {
        EXPECT_EQ(top.integer("n", 4, 0, 9), 4) << "the fallback after a mistake";
        top.str("s", "");
        top.boolean("b", false);
        top.strings("l");
        top.map("m").finish();
        top.integer("x", 0, 0, 9);
        top.strings("items");
      });
  EXPECT_THAT(errors,
              ElementsAre("t.yaml:1:4: n: must be an integer", "t.yaml:2:4: s: must be a string",
                          "t.yaml:3:4: b: must be true or false", "t.yaml:4:4: l: must be a list",
                          "t.yaml:5:4: m: must be a map", "t.yaml:6:4: x: must be an integer",
                          "t.yaml:7:8: items: must be a list of strings"));
}

TEST(YamlReader, RangesAreChecked) {
  const auto errors = walk_errors("low: 0\nhigh: 11\nok: 10\nrate: 2.5\n", [](Map& top) {
    EXPECT_EQ(top.integer("low", 5, 1, 10), 5);
    top.integer("high", 5, 1, 10);
    EXPECT_EQ(top.integer("ok", 5, 1, 10), 10);
    top.number("rate", 1, 0.5, 2);
  });
  EXPECT_THAT(errors, ElementsAre("t.yaml:1:6: low: must be between 1 and 10",
                                  "t.yaml:2:7: high: must be between 1 and 10",
                                  "t.yaml:4:7: rate: must be between 0.5 and 2"));
}

TEST(YamlReader, MissingRequiredKeysArePlacedAtTheirMapAndNullValuesAtTheKey) {
  const auto errors = walk_errors("empty:\nsub:\n  other: 1\nname: ''\n", [](Map& top) {
    top.str("empty");
    auto sub = top.map("sub");
    sub.str("needed");
    sub.integer("count", 1, 5);
    sub.integer("other", 0, 9);
    sub.finish();
    top.str("name");
  });
  EXPECT_THAT(errors, ElementsAre("t.yaml:1:1: empty: required", "t.yaml:3:3: sub.needed: required",
                                  "t.yaml:3:3: sub.count: required",
                                  "t.yaml:4:7: name: must not be empty"));
}

TEST(YamlReader, EveryMistakeIsReportedAtOnceInFileOrder) {
  const auto errors = walk_errors("a: x\nb: 99\nc: 1\nd: [1]\n", [](Map& top) {
    top.str("d", "");
    top.integer("b", 0, 0, 9);
    top.integer("a", 0, 0, 9);
  });
  EXPECT_THAT(errors, ElementsAre("t.yaml:1:4: a: must be an integer",
                                  "t.yaml:2:4: b: must be between 0 and 9",
                                  "t.yaml:3:1: c: unknown key", "t.yaml:4:4: d: must be a string"));
}

TEST(YamlReader, StopAtFirstThrowsTheFirstMistakeAtOnce) {
  const Located doc = load_text("a: x\nb: 99\n", "t.yaml");
  Errors errors(doc.file, "config", Errors::Mode::stop_at_first);
  Map top(doc.node, "entry", errors);
  EXPECT_THAT(errors_of([&] { top.integer("a", 0, 0, 9); }),
              ElementsAre("t.yaml:1:4: entry.a: must be an integer"));
}

TEST(YamlReader, SyntaxErrorHasLineAndColumn) {
  const auto errors = errors_of([] { load_text("ok: 1\nkey: [unclosed\n", "t.yaml"); });
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], MatchesRegex("t\\.yaml:3:1: YAML syntax: .+"));
}

TEST(YamlReader, AListAsAKeyIsAnErrorAtItsLineNotACrash) {
  EXPECT_THAT(errors_of([] { load_text("[a]: b\n", "t.yaml"); }),
              ElementsAre("t.yaml:1:1: a key must be a plain name, not a list"));
  EXPECT_THAT(errors_of([] { load_text("consumer:\n  {x: 1}: 2\n", "t.yaml"); }),
              ElementsAre("t.yaml:2:3: consumer: a key must be a plain name, not a map"));
  // A node built without load_text reaches the walker, which names it too.
  Errors errors("t.yaml");
  Map top(YAML::Load("good: 1\n[a]: b\n"), "", errors);
  top.finish();
  EXPECT_THAT(errors_of([&] { errors.raise_if_any(); }),
              ElementsAre("t.yaml:1:1: good: unknown key",
                          "t.yaml:2:1: a key must be a plain name, not a list"));
}

TEST(YamlReader, DuplicateKeysAreErrors) {
  EXPECT_THAT(errors_of([] { load_text("a: 1\nb: 2\na: 3\n", "t.yaml"); }),
              ElementsAre("t.yaml:3:1: a: given twice in one map (first on line 1)"));
  EXPECT_THAT(
      errors_of([] { load_text("list:\n  - {x: 1, x: 2}\n  - y: 1\n    y: 2\n", "t.yaml"); }),
      ElementsAre("t.yaml:2:12: list[0].x: given twice in one map (first on line 2)",
                  "t.yaml:4:5: list[1].y: given twice in one map (first on line 3)"));
}

TEST(YamlReader, SelfReferringAliasesEndTheWalk) {
  Deadline deadline(10);
  EXPECT_NO_THROW(load_text("&x [*x]\n", "t.yaml"));
  EXPECT_THAT(errors_of([] { load_text("&m {a: 1, a: 2, b: *m}\n", "t.yaml"); }),
              ElementsAre("t.yaml:1:11: a: given twice in one map (first on line 1)"))
      << "reported once, though the map can be reached without end";
}

TEST(YamlReader, DevZeroIsRefusedAtOnce) {
  Deadline deadline(10);
  EXPECT_THAT(errors_of([] { load_file("/dev/zero"); }),
              ElementsAre("/dev/zero: not a regular file"));
  std::string why;
  EXPECT_FALSE(read_regular_file("/dev/zero", why));
  EXPECT_EQ(why, "not a regular file");
}

TEST(YamlReader, AFifoIsRefusedWithoutWaitingForAWriter) {
  Deadline deadline(10);
  const auto fifo = temp_path("fifo");
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(errors_of([&] { load_file(fifo, "policy"); }),
              ElementsAre(fifo.string() + ": not a regular file"));
  std::filesystem::remove(fifo);
}

TEST(YamlReader, ADirectoryIsRefused) {
  const auto dir = temp_path("dir");
  std::filesystem::create_directories(dir);
  EXPECT_THAT(errors_of([&] { load_file(dir); }),
              ElementsAre(dir.string() + ": is a directory, not a file"));
}

TEST(YamlReader, AMissingFileIsNamed) {
  try {
    load_file("/nonexistent/d.yaml", "policy");
    FAIL() << "loaded a missing file";
  } catch (const LoadError& e) {
    EXPECT_EQ(e.subject(), "policy");
    EXPECT_THAT(e.errors(),
                ElementsAre("/nonexistent/d.yaml: cannot be read (No such file or directory)"));
  }
}

TEST(YamlReader, SizeIsCapped) {
  EXPECT_THAT(errors_of([] { load_text("a: 12345\n", "t.yaml", "config", 8); }),
              ElementsAre("t.yaml: larger than 8 bytes"));
  const auto big = temp_path("big.yaml");
  {
    std::ofstream out(big);
    out << "a: \"" << std::string(max_file_bytes, 'x') << "\"\n";
  }
  EXPECT_THAT(errors_of([&] { load_file(big); }),
              ElementsAre(big.string() + ": larger than 1 MiB"));
  std::filesystem::remove(big);
}

TEST(YamlReader, AFileWithinTheCapLoadsWithItsNameInErrors) {
  const auto file = temp_path("ok.yaml");
  { std::ofstream(file) << "a: 1\nb: x\n"; }
  const Located doc = load_file(file);
  EXPECT_EQ(doc.file, file.string());
  Errors errors(doc.file);
  Map top(doc.node, "", errors);
  top.integer("b", 0, 0, 9);
  EXPECT_THAT(errors_of([&] { errors.raise_if_any(); }),
              ElementsAre(file.string() + ":2:4: b: must be an integer"));
  std::filesystem::remove(file);
}

TEST(YamlReader, ProblemsWithoutPositionOrKeyLeaveThemOut) {
  EXPECT_EQ(to_string(Problem{"f.yaml", 0, 0, "", "is empty"}), "f.yaml: is empty");
  EXPECT_EQ(to_string(Problem{"f.yaml", 0, 0, "a.b", "required"}), "f.yaml: a.b: required");
  EXPECT_EQ(to_string(Problem{"f.yaml", 3, 7, "a.b", "required"}), "f.yaml:3:7: a.b: required");
  const LoadError e("config",
                    {Problem{"f.yaml", 2, 1, "x", "one"}, Problem{"f.yaml", 0, 0, "", "two"}});
  EXPECT_STREQ(e.what(), "f.yaml:2:1: x: one; f.yaml: two") << "one line elsewhere";
}

TEST(YamlReader, ATopThatIsNotAMapIsNamed) {
  EXPECT_THAT(walk_errors("- a\n- b\n", [](Map&) {}), ElementsAre("t.yaml:1:1: must be a map"));
  EXPECT_THAT(walk_errors("", [](Map& top) { top.str("x"); }), ElementsAre("t.yaml: x: required"))
      << "an empty file is an empty map, without a position";
}

}  // namespace
}  // namespace dispatcher::config
