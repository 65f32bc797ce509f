// The Mustache engine: a tokenizer, a standalone-line pass and a builder produce a flat node
// list (sections know where they end); the renderer walks it against a stack of JSON frames.
#include "templates/mustache.hpp"

#include <array>
#include <charconv>
#include <cstring>
#include <utility>

namespace dispatcher::templates::mustache {

void append_html_escaped(std::string& out, std::string_view s) {
  std::size_t done = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    std::string_view entity;
    switch (s[i]) {
      case '&':
        entity = "&amp;";
        break;
      case '<':
        entity = "&lt;";
        break;
      case '>':
        entity = "&gt;";
        break;
      case '"':
        entity = "&quot;";
        break;
      case '\'':
        entity = "&#39;";
        break;
      default:
        continue;
    }
    out.append(s.data() + done, i - done);
    out.append(entity);
    done = i + 1;
  }
  out.append(s.data() + done, s.size() - done);
}

Partials::Partials() = default;
Partials::~Partials() = default;
Partials::Partials(Partials&&) noexcept = default;
Partials& Partials::operator=(Partials&&) noexcept = default;

void Partials::add(std::string name, std::string source) {
  sources_.insert_or_assign(std::move(name), std::move(source));
}

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_blank(s.front()) || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (is_blank(s.back()) || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::uint32_t count_newlines(std::string_view s) {
  std::uint32_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

struct Token {
  enum class Type : std::uint8_t {
    text,
    variable,
    raw,
    section,
    inverted,
    close,
    partial,
    comment,
    delimiters
  };
  Type type = Type::text;
  std::string_view content;  // text: the text; tags: the trimmed name
  std::uint32_t line = 1;
  bool ends_line = false;  // text that ends with '\n'
  bool dropped = false;    // whitespace of a standalone line
  bool standalone = false;
  bool line_start = false;
  std::string_view indent;  // standalone partial: the whitespace before it
};

bool can_stand_alone(Token::Type t) {
  switch (t) {
    case Token::Type::section:
    case Token::Type::inverted:
    case Token::Type::close:
    case Token::Type::partial:
    case Token::Type::comment:
    case Token::Type::delimiters:
      return true;
    default:
      return false;
  }
}

// Whitespace only, allowing the line's final "\n" or "\r\n".
bool is_blank_text(std::string_view s) {
  if (!s.empty() && s.back() == '\n') {
    s.remove_suffix(1);
    if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  }
  for (char c : s)
    if (!is_blank(c)) return false;
  return true;
}

}  // namespace

class Parser {
 public:
  Parser(std::string_view source, std::string_view name, Partials& partials)
      : src_(source), name_(name), partials_(partials) {}

  std::variant<Compiled, CompileError> run() {
    if (!tokenize()) return std::move(*error_);
    mark_standalone();
    Compiled out;
    out.template_name_ = std::string(name_);
    if (!build(out)) return std::move(*error_);
    return out;
  }

 private:
  bool fail(std::uint32_t line, std::string message) {
    error_ = CompileError{std::string(name_), line, std::move(message)};
    return false;
  }

  void push_text(std::string_view text, std::uint32_t& line) {
    while (!text.empty()) {
      std::size_t nl = text.find('\n');
      std::size_t n = nl == std::string_view::npos ? text.size() : nl + 1;
      Token t;
      t.type = Token::Type::text;
      t.content = text.substr(0, n);
      t.line = line;
      t.ends_line = nl != std::string_view::npos;
      tokens_.push_back(t);
      if (nl != std::string_view::npos) ++line;
      text.remove_prefix(n);
    }
  }

  bool tokenize() {
    std::string otag = "{{", ctag = "}}";
    std::uint32_t line = 1;
    std::size_t pos = 0;
    while (pos < src_.size()) {
      std::size_t open = src_.find(otag, pos);
      if (open == std::string_view::npos) {
        push_text(src_.substr(pos), line);
        break;
      }
      push_text(src_.substr(pos, open - pos), line);
      const std::uint32_t tag_line = line;
      std::size_t inner = open + otag.size();
      char sigil = inner < src_.size() ? src_[inner] : '\0';
      std::string closer = ctag;
      if (sigil == '{')
        closer = "}" + ctag;
      else if (sigil == '=')
        closer = "=" + ctag;
      std::size_t body_begin = inner + ((sigil == '{' || sigil == '=') ? 1 : 0);
      std::size_t close = src_.find(closer, body_begin);
      if (close == std::string_view::npos)
        return fail(tag_line, "unclosed tag '" + otag + "' (no '" + closer + "' after it)");
      std::string_view body = src_.substr(body_begin, close - body_begin);
      line += count_newlines(src_.substr(open, close + closer.size() - open));
      pos = close + closer.size();

      Token t;
      t.type = Token::Type::variable;
      t.line = tag_line;
      switch (sigil) {
        case '{':
          t.type = Token::Type::raw;
          break;
        case '&':
          t.type = Token::Type::raw;
          body.remove_prefix(1);
          break;
        case '#':
          t.type = Token::Type::section;
          body.remove_prefix(1);
          break;
        case '^':
          t.type = Token::Type::inverted;
          body.remove_prefix(1);
          break;
        case '/':
          t.type = Token::Type::close;
          body.remove_prefix(1);
          break;
        case '>':
          t.type = Token::Type::partial;
          body.remove_prefix(1);
          break;
        case '!':
          t.type = Token::Type::comment;
          body.remove_prefix(1);
          break;
        case '=':
          t.type = Token::Type::delimiters;
          break;
        default:
          break;
      }
      if (t.type == Token::Type::comment) {
        tokens_.push_back(t);
        continue;
      }
      const std::string_view written = body;
      body = trim(body);
      if (t.type == Token::Type::delimiters) {
        std::size_t split = 0;
        while (split < body.size() && !is_blank(body[split]) && body[split] != '\n') ++split;
        std::string_view new_open = body.substr(0, split);
        std::string_view new_close = trim(body.substr(split));
        bool ok = !new_open.empty() && !new_close.empty() &&
                  new_open.find('=') == std::string_view::npos &&
                  new_close.find_first_of("= \t\r\n") == std::string_view::npos;
        if (!ok)
          return fail(tag_line, "bad delimiter tag '" + otag + "=" + std::string(written) + "=" +
                                    ctag + "': expected two delimiters without spaces or '='");
        otag = new_open;
        ctag = new_close;
        tokens_.push_back(t);
        continue;
      }
      if (body.empty()) return fail(tag_line, "empty tag '" + otag + ctag + "'");
      t.content = body;
      tokens_.push_back(t);
    }
    return true;
  }

  // Resolves standalone lines: a line holding one section/inverted/close/partial/comment/
  // delimiter tag and otherwise only whitespace loses that whitespace and its newline.
  void mark_standalone() {
    std::size_t begin = 0;
    while (begin < tokens_.size()) {
      std::size_t end = begin;
      while (end < tokens_.size() &&
             !(tokens_[end].type == Token::Type::text && tokens_[end].ends_line))
        ++end;
      if (end < tokens_.size()) ++end;  // include the line's last text
      std::size_t tag = tokens_.size(), tags = 0;
      bool blank = true;
      for (std::size_t i = begin; i < end; ++i) {
        if (tokens_[i].type == Token::Type::text) {
          blank = blank && is_blank_text(tokens_[i].content);
        } else {
          ++tags;
          tag = i;
        }
      }
      if (tags == 1 && blank && can_stand_alone(tokens_[tag].type)) {
        Token& t = tokens_[tag];
        t.standalone = true;
        if (tag > begin) t.indent = tokens_[begin].content;  // the only text before it
        for (std::size_t i = begin; i < end; ++i)
          if (i != tag) tokens_[i].dropped = true;
      } else {
        tokens_[begin].line_start = true;
      }
      begin = end;
    }
  }

  std::uint32_t add_name(Compiled& out, std::string_view full) {
    Name n;
    n.full = std::string(full);
    if (full != ".") {
      std::size_t start = 0;
      while (true) {
        std::size_t dot = full.find('.', start);
        n.parts.emplace_back(
            full.substr(start, dot == std::string_view::npos ? full.npos : dot - start));
        if (dot == std::string_view::npos) break;
        start = dot + 1;
      }
    }
    out.names_.push_back(std::move(n));
    return static_cast<std::uint32_t>(out.names_.size() - 1);
  }

  // The compiled partial for `name`, compiling it on first use; null when not registered.
  const Compiled* partial(std::string_view name) {
    if (auto it = partials_.compiled_.find(name); it != partials_.compiled_.end())
      return it->second.get();
    auto src = partials_.sources_.find(name);
    if (src == partials_.sources_.end()) return nullptr;
    // Registered before compiling so that a partial can name itself (recursion).
    auto [slot, inserted] =
        partials_.compiled_.emplace(std::string(name), std::make_unique<Compiled>());
    Compiled* target = slot->second.get();
    auto result = Parser(src->second, name, partials_).run();
    if (auto* err = std::get_if<CompileError>(&result)) {
      partials_.compiled_.erase(slot);
      error_ = std::move(*err);
      return nullptr;
    }
    *target = std::move(std::get<Compiled>(result));
    return target;
  }

  bool build(Compiled& out) {
    struct Open {
      std::size_t node;
      std::string_view name;
      std::uint32_t line;
    };
    std::vector<Open> open;
    bool merge_text = false;
    out.nodes_.reserve(tokens_.size());
    for (const Token& t : tokens_) {
      if (t.dropped) continue;
      if (t.type != Token::Type::text && t.type != Token::Type::comment &&
          t.type != Token::Type::delimiters)
        merge_text = false;  // text never merges across a tag (a section's end, above all)
      using T = Token::Type;
      using K = Compiled::Kind;
      Compiled::Node node{K::text};
      node.line = t.line;
      node.line_start = t.line_start;
      switch (t.type) {
        case T::comment:
        case T::delimiters:
          continue;
        case T::text: {
          if (merge_text) {
            out.text_.append(t.content);
            out.nodes_.back().length += static_cast<std::uint32_t>(t.content.size());
            continue;
          }
          node.offset = static_cast<std::uint32_t>(out.text_.size());
          node.length = static_cast<std::uint32_t>(t.content.size());
          out.text_.append(t.content);
          merge_text = true;
          break;
        }
        case T::variable:
        case T::raw:
          node.kind = t.type == T::raw ? K::raw_variable : K::variable;
          node.name = add_name(out, t.content);
          break;
        case T::section:
        case T::inverted:
          node.kind = t.type == T::section ? K::section : K::inverted;
          node.name = add_name(out, t.content);
          open.push_back({out.nodes_.size(), t.content, t.line});
          break;
        case T::close: {
          if (open.empty())
            return fail(t.line,
                        "closing tag '" + std::string(t.content) + "' without an open section");
          if (open.back().name != t.content)
            return fail(t.line, "closing tag '" + std::string(t.content) +
                                    "' does not match section '" + std::string(open.back().name) +
                                    "' opened at line " + std::to_string(open.back().line));
          out.nodes_[open.back().node].end = static_cast<std::uint32_t>(out.nodes_.size());
          open.pop_back();
          continue;
        }
        case T::partial: {
          node.kind = K::partial;
          node.partial = partial(t.content);
          if (error_) return false;
          node.offset = static_cast<std::uint32_t>(out.text_.size());
          node.length = static_cast<std::uint32_t>(t.indent.size());
          out.text_.append(t.indent);
          node.name = add_name(out, t.content);
          if (t.standalone) node.line_start = false;  // its indentation goes to each of its lines
          break;
        }
      }
      out.nodes_.push_back(node);
    }
    if (!open.empty())
      return fail(open.back().line, "unclosed section '" + std::string(open.back().name) + "'");
    return true;
  }

  std::string_view src_;
  std::string_view name_;
  Partials& partials_;
  std::vector<Token> tokens_;
  std::optional<CompileError> error_;
};

std::variant<Compiled, CompileError> compile(std::string_view source, std::string_view name,
                                             Partials& partials) {
  return Parser(source, name, partials).run();
}

namespace {

using json = nlohmann::json;

struct Frame {
  const json* value;
  const Frame* parent;
};

struct Indent {
  std::string_view text;
  const Indent* parent;
};

bool truthy(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return false;
    case json::value_t::boolean:
      return v.get<bool>();
    case json::value_t::array:
      return !v.empty();
    case json::value_t::string:
      return !v.get_ref<const std::string&>().empty();
    default:
      return true;
  }
}

class Renderer {
 public:
  Renderer(std::span<const json* const> base, const RenderOptions& options, std::string& out)
      : base_(base), options_(options), out_(out) {}

  std::optional<RenderFailure> failure;

  bool run(const Compiled& tpl, std::size_t begin, std::size_t end, const Frame* frame,
           const Indent* indent, std::size_t depth) {
    auto nodes = tpl.nodes();
    for (std::size_t i = begin; i < end; ++i) {
      const Compiled::Node& n = nodes[i];
      if (indent && n.line_start) emit_indent(indent);
      switch (n.kind) {
        case Compiled::Kind::text:
          if (indent)
            emit_indented_text(tpl.text_of(n), indent);
          else
            out_.append(tpl.text_of(n));
          break;
        case Compiled::Kind::variable:
        case Compiled::Kind::raw_variable: {
          const json* v = lookup(tpl.name_of(n), frame);
          if (!v || v->is_null()) {
            if (options_.strict) {
              failure =
                  RenderFailure{RenderFailure::Why::missing_variable, tpl.name_of(n).full, n.line};
              return false;
            }
            break;
          }
          append_value(*v, n.kind == Compiled::Kind::variable && options_.escape == Escape::html);
          break;
        }
        case Compiled::Kind::section: {
          const json* v = lookup(tpl.name_of(n), frame);
          if (v && truthy(*v)) {
            if (!deeper(depth, tpl, n)) return false;
            if (v->is_array()) {
              for (const json& item : *v) {
                Frame f{&item, frame};
                if (!run(tpl, i + 1, n.end, &f, indent, depth + 1)) return false;
              }
            } else {
              Frame f{v, frame};
              if (!run(tpl, i + 1, n.end, &f, indent, depth + 1)) return false;
            }
          }
          i = n.end - 1;
          break;
        }
        case Compiled::Kind::inverted: {
          const json* v = lookup(tpl.name_of(n), frame);
          if (!v || !truthy(*v)) {
            if (!deeper(depth, tpl, n)) return false;
            if (!run(tpl, i + 1, n.end, frame, indent, depth + 1)) return false;
          }
          i = n.end - 1;
          break;
        }
        case Compiled::Kind::partial: {
          if (!n.partial) break;
          if (!deeper(depth, tpl, n)) return false;
          std::string_view own = tpl.text_of(n);
          if (own.empty()) {
            if (!run(*n.partial, 0, n.partial->nodes().size(), frame, indent, depth + 1))
              return false;
          } else {
            Indent inner{own, indent};
            if (!run(*n.partial, 0, n.partial->nodes().size(), frame, &inner, depth + 1))
              return false;
          }
          break;
        }
      }
    }
    return true;
  }

 private:
  bool deeper(std::size_t depth, const Compiled& tpl, const Compiled::Node& n) {
    if (depth + 1 <= options_.max_depth) return true;
    failure = RenderFailure{RenderFailure::Why::too_deep, tpl.name_of(n).full, n.line};
    return false;
  }

  void emit_indent(const Indent* indent) {
    if (!indent) return;
    emit_indent(indent->parent);
    out_.append(indent->text);
  }

  // Text inside an indented partial: the indentation follows every newline that is not the
  // text's last character (the next node carries line_start for that one).
  void emit_indented_text(std::string_view text, const Indent* indent) {
    while (!text.empty()) {
      std::size_t nl = text.find('\n');
      if (nl == std::string_view::npos || nl + 1 == text.size()) {
        out_.append(text);
        return;
      }
      out_.append(text.substr(0, nl + 1));
      emit_indent(indent);
      text.remove_prefix(nl + 1);
    }
  }

  static const json* member(const json& obj, std::string_view key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }

  const json* lookup(const Name& name, const Frame* frame) const {
    if (name.parts.empty()) {  // "."
      if (frame) return frame->value;
      for (auto it = base_.rbegin(); it != base_.rend(); ++it)
        if (*it) return *it;
      return nullptr;
    }
    const json* found = nullptr;
    for (const Frame* f = frame; f && !found; f = f->parent)
      found = member(*f->value, name.parts[0]);
    for (auto it = base_.rbegin(); it != base_.rend() && !found; ++it)
      if (*it) found = member(**it, name.parts[0]);
    for (std::size_t p = 1; found && p < name.parts.size(); ++p)
      found = member(*found, name.parts[p]);
    return found;
  }

  void append_value(const json& v, bool escape) {
    std::array<char, 64> buf;
    switch (v.type()) {
      case json::value_t::string: {
        const std::string& s = v.get_ref<const std::string&>();
        if (escape)
          append_html_escaped(out_, s);
        else
          out_.append(s);
        return;
      }
      case json::value_t::number_integer: {
        auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v.get<std::int64_t>());
        out_.append(buf.data(), r.ptr);
        return;
      }
      case json::value_t::number_unsigned: {
        auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v.get<std::uint64_t>());
        out_.append(buf.data(), r.ptr);
        return;
      }
      case json::value_t::number_float: {
        // Shortest form that reads back the same; "1.0" rather than "1", as nlohmann dumps it.
        double d = v.get<double>();
        auto r = std::to_chars(buf.data(), buf.data() + buf.size(), d);
        std::string_view s(buf.data(), static_cast<std::size_t>(r.ptr - buf.data()));
        out_.append(s);
        if (s.find_first_of(".eEn") == std::string_view::npos) out_.append(".0");
        return;
      }
      case json::value_t::boolean:
        out_.append(v.get<bool>() ? "true" : "false");
        return;
      case json::value_t::null:
        return;
      default: {
        std::string dumped = v.dump();
        if (escape)
          append_html_escaped(out_, dumped);
        else
          out_.append(dumped);
        return;
      }
    }
  }

  std::span<const json* const> base_;
  const RenderOptions& options_;
  std::string& out_;
};

}  // namespace

std::optional<RenderFailure> render(const Compiled& tpl, std::span<const json* const> frames,
                                    const RenderOptions& options, std::string& out) {
  Renderer r(frames, options, out);
  r.run(tpl, 0, tpl.nodes().size(), nullptr, nullptr, 0);
  return std::move(r.failure);
}

}  // namespace dispatcher::templates::mustache
