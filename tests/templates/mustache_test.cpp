// The official Mustache spec (core files only, no ~optional modules), read at run time.
#include "templates/mustache.hpp"

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <iostream>
#include <string>

namespace dispatcher::templates::mustache {
namespace {

using nlohmann::json;

constexpr std::array<const char*, 6> spec_files{"comments", "delimiters", "interpolation",
                                                "inverted", "partials",   "sections"};

json load_spec(const std::string& file) {
  std::ifstream in(std::string(DISPATCHER_SHARED_DIR) + "/mustache-spec/" + file + ".json");
  if (!in) return json();
  return json::parse(in);
}

// Runs one case; returns an explanation of the failure, empty on success.
std::string run_case(const json& test) {
  Partials partials;
  if (test.contains("partials"))
    for (const auto& [name, source] : test["partials"].items())
      partials.add(name, source.get<std::string>());
  const std::string source = test["template"].get<std::string>();
  auto compiled = compile(source, test["name"].get<std::string>(), partials);
  if (auto* err = std::get_if<CompileError>(&compiled))
    return "compile error at line " + std::to_string(err->line) + ": " + err->message;
  const json& data = test["data"];
  const std::array<const json*, 1> frames{&data};
  RenderOptions options;
  options.escape = Escape::html;
  std::string out;
  if (auto failure = render(std::get<Compiled>(compiled), frames, options, out))
    return "render failed at " + std::string(failure->variable);
  const std::string expected = test["expected"].get<std::string>();
  if (out != expected) return "expected " + json(expected).dump() + ", got " + json(out).dump();
  return {};
}

TEST(MustacheSpec, AllCoreCasesPass) {
  std::size_t total = 0, passed = 0;
  for (const char* file : spec_files) {
    const json spec = load_spec(file);
    ASSERT_TRUE(spec.contains("tests")) << "cannot read the spec file " << file << ".json under "
                                        << DISPATCHER_SHARED_DIR "/mustache-spec";
    for (const json& test : spec["tests"]) {
      ++total;
      const std::string why = run_case(test);
      if (why.empty()) ++passed;
      EXPECT_TRUE(why.empty()) << file << ": " << test["name"].get<std::string>() << " — "
                               << test["desc"].get<std::string>()
                               << "\n  template: " << test["template"].dump() << "\n  " << why;
    }
  }
  std::cout << "mustache spec: " << passed << "/" << total << " passed\n";
  EXPECT_EQ(total, 136u);
  EXPECT_EQ(passed, total);
}

// Beyond the spec: what the catalog relies on.

std::string render_string(std::string_view source, const json& data, RenderOptions options = {}) {
  Partials partials;
  auto compiled = compile(source, "t", partials);
  if (auto* err = std::get_if<CompileError>(&compiled)) return "compile error: " + err->message;
  const std::array<const json*, 1> frames{&data};
  std::string out;
  if (auto failure = render(std::get<Compiled>(compiled), frames, options, out))
    return "missing: " + std::string(failure->variable);
  return out;
}

TEST(Mustache, NumbersPrintExactly) {
  json data = {{"big", 9007199254740993LL},    {"neg", -42},  {"half", 1.5}, {"one", 1.0},
               {"u", 18446744073709551615ULL}, {"small", 0.1}};
  EXPECT_EQ(render_string("{{big}} {{neg}} {{half}} {{one}} {{u}} {{small}}", data),
            "9007199254740993 -42 1.5 1.0 18446744073709551615 0.1");
}

TEST(Mustache, HtmlEscapingKeepsSlashes) {
  RenderOptions html;
  html.escape = Escape::html;
  json data = {{"u", "https://example.jp/a?b=1&c='2'"}, {"t", "<b>\"x\"</b>"}};
  EXPECT_EQ(render_string("{{u}}|{{t}}|{{{t}}}|{{&t}}", data, html),
            "https://example.jp/a?b=1&amp;c=&#39;2&#39;|&lt;b&gt;&quot;x&quot;&lt;/b&gt;|<b>\"x\"</"
            "b>|<b>\"x\"</b>");
  EXPECT_EQ(render_string("{{t}}", data), "<b>\"x\"</b>");  // text parts are not escaped
}

TEST(Mustache, StrictModeReportsTheMissingName) {
  RenderOptions strict;
  strict.strict = true;
  EXPECT_EQ(render_string("{{name}}様", json::object(), strict), "missing: name");
  EXPECT_EQ(render_string("{{name}}様", json{{"name", nullptr}}, strict), "missing: name");
  EXPECT_EQ(render_string("{{a.b}}", json{{"a", json::object()}}, strict), "missing: a.b");
  EXPECT_EQ(render_string("{{name}}様", json::object()), "様");  // lenient, as the spec
  // A missing section name is false, not an error.
  EXPECT_EQ(render_string("{{#note}}x{{/note}}{{^note}}y{{/note}}", json::object(), strict), "y");
}

TEST(Mustache, BrokenTemplatesNameTheLine) {
  Partials partials;
  auto unclosed = compile("a\nb\n{{#items}}\nc\n", "t", partials);
  ASSERT_TRUE(std::holds_alternative<CompileError>(unclosed));
  EXPECT_EQ(std::get<CompileError>(unclosed).line, 3u);
  EXPECT_NE(std::get<CompileError>(unclosed).message.find("unclosed section 'items'"),
            std::string::npos);

  auto mismatched = compile("{{#a}}\n{{/b}}", "t", partials);
  ASSERT_TRUE(std::holds_alternative<CompileError>(mismatched));
  EXPECT_EQ(std::get<CompileError>(mismatched).line, 2u);

  auto stray = compile("x {{/a}}", "t", partials);
  ASSERT_TRUE(std::holds_alternative<CompileError>(stray));

  auto delims = compile("\n{{=<% =}}", "t", partials);
  ASSERT_TRUE(std::holds_alternative<CompileError>(delims));
  EXPECT_EQ(std::get<CompileError>(delims).line, 2u);

  auto open_tag = compile("a\n\nb {{name", "t", partials);
  ASSERT_TRUE(std::holds_alternative<CompileError>(open_tag));
  EXPECT_EQ(std::get<CompileError>(open_tag).line, 3u);
}

TEST(Mustache, RecursivePartialsStopAtTheDepthLimit) {
  Partials partials;
  partials.add("loop", "x{{>loop}}");
  auto compiled = compile("{{>loop}}", "t", partials);
  ASSERT_TRUE(std::holds_alternative<Compiled>(compiled));
  const json data = json::object();
  const std::array<const json*, 1> frames{&data};
  std::string out;
  auto failure = render(std::get<Compiled>(compiled), frames, {}, out);
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->why, RenderFailure::Why::too_deep);
}

TEST(Mustache, UpperFramesAreSearchedFirst) {
  Partials partials;
  auto compiled = compile("{{a}} {{b}}", "t", partials);
  ASSERT_TRUE(std::holds_alternative<Compiled>(compiled));
  const json data = {{"a", "data-a"}, {"b", "data-b"}};
  const json injected = {{"a", "injected-a"}};
  const std::array<const json*, 2> frames{&data, &injected};
  std::string out;
  EXPECT_FALSE(render(std::get<Compiled>(compiled), frames, {}, out).has_value());
  EXPECT_EQ(out, "injected-a data-b");
}

}  // namespace
}  // namespace dispatcher::templates::mustache
