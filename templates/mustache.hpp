// A small Mustache engine (the logic-less core of the spec: interpolation, sections, inverted
// sections, comments, partials, set delimiters; no lambdas), parse-once and render-many.
//
// compile() turns source into an immutable Compiled: standalone lines are resolved, tags are
// split, dotted names are pre-split. render() walks it against nlohmann::json values without
// converting them and appends to a caller's string; it never throws on data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dispatcher::templates::mustache {

enum class Escape : std::uint8_t { none, html };

// Appends `s` to `out`, escaping & < > " ' as HTML entities (`/` is left alone).
void append_html_escaped(std::string& out, std::string_view s);

struct CompileError {
  std::string name;  // the template's (or partial's) name as given to compile()
  std::size_t line;  // 1-based
  std::string message;
};

class Compiled;

// Named partial sources. A partial is compiled once, the first time a template names it, and
// owned here: the registry must outlive every Compiled that refers to it. A partial that is not
// registered renders as nothing (as the spec asks).
class Partials {
 public:
  Partials();
  ~Partials();
  Partials(Partials&&) noexcept;
  Partials& operator=(Partials&&) noexcept;

  void add(std::string name, std::string source);

 private:
  friend class Parser;
  std::map<std::string, std::string, std::less<>> sources_;
  std::map<std::string, std::unique_ptr<Compiled>, std::less<>> compiled_;
};

// One name as written in a tag: "." or dotted parts.
struct Name {
  std::string full;
  std::vector<std::string> parts;  // empty for "."
};

// The compiled, immutable form of one template. Cheap to share by const reference.
class Compiled {
 public:
  enum class Kind : std::uint8_t { text, variable, raw_variable, section, inverted, partial };
  struct Node {
    Kind kind;
    bool line_start = false;  // first thing on a source line (partial indentation goes here)
    std::uint32_t line = 0;   // 1-based source line of the tag
    std::uint32_t offset = 0, length = 0;  // text: into text_; partial: its indentation
    std::uint32_t name = 0;                // index into names_ (variable, section, inverted)
    std::uint32_t end = 0;                 // section / inverted: index of the first node after it
    const Compiled* partial = nullptr;     // partial: null when not registered
  };

  std::span<const Node> nodes() const { return nodes_; }
  const Name& name_of(const Node& n) const { return names_[n.name]; }
  std::string_view text_of(const Node& n) const {
    return std::string_view(text_).substr(n.offset, n.length);
  }
  std::string_view template_name() const { return template_name_; }

 private:
  friend class Parser;
  std::string template_name_;
  std::string text_;
  std::vector<Node> nodes_;
  std::vector<Name> names_;
};

// Compiles `source`; `name` labels errors. Partials named by the source (and by those partials)
// are compiled from `partials` on first use and kept there.
std::variant<Compiled, CompileError> compile(std::string_view source, std::string_view name,
                                             Partials& partials);

// Why a render stopped.
struct RenderFailure {
  enum class Why : std::uint8_t { missing_variable, too_deep };
  Why why;
  std::string_view variable;  // the name as written in the tag (lives as long as the template)
  std::size_t line = 0;
};

struct RenderOptions {
  Escape escape = Escape::none;
  // A variable tag whose name is missing (or null) fails the render instead of printing "".
  bool strict = false;
  std::size_t max_depth = 64;  // nested sections and partials
};

// Renders against `frames`, the context stack from bottom to top (the top is searched first;
// null pointers are skipped). Appends to `out`; on failure `out` holds a partial result.
std::optional<RenderFailure> render(const Compiled& tpl,
                                    std::span<const nlohmann::json* const> frames,
                                    const RenderOptions& options, std::string& out);

}  // namespace dispatcher::templates::mustache
