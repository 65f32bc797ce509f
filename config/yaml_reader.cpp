#include "config/yaml_reader.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <utility>

namespace dispatcher::config {

namespace {

std::vector<std::string> lines_of(const std::vector<Problem>& problems) {
  std::vector<std::string> lines;
  for (const auto& p : problems) lines.push_back(to_string(p));
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s.append(s.empty() ? "" : "; ").append(l);
  return s;
}

std::string size_text(std::size_t bytes) {
  constexpr std::size_t mib = std::size_t{1} << 20;
  return bytes % mib == 0 ? fmt::format("{} MiB", bytes / mib) : fmt::format("{} bytes", bytes);
}

std::string join_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

const char* kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence:
      return "list";
    case YAML::NodeType::Map:
      return "map";
    default:
      return "scalar";
  }
}

// yaml-cpp takes a list or a map as a key, and every reader that asks for the key's text then
// throws; the reader names it instead.
std::string non_scalar_key(const YAML::Node& key) {
  return fmt::format("a key must be a plain name, not a {}", kind_of(key));
}

// What yaml-cpp accepts but a config must not hold: non-scalar keys and a key given twice in
// one map (yaml-cpp keeps both; a reader would silently take the first). Each container is
// visited once, known by its position and type, so an alias that refers back to its own anchor
// (`&x [*x]`, a cycle) or a chain of aliases (which expands exponentially) ends the walk.
void check_structure(const YAML::Node& root, Errors& errors) {
  std::set<std::pair<int, int>> seen;  // (offset, type) of each container walked
  std::vector<std::pair<YAML::Node, std::string>> todo{{root, ""}};
  while (!todo.empty()) {
    auto [node, path] = std::move(todo.back());
    todo.pop_back();
    if (!node.IsMap() && !node.IsSequence()) continue;
    const YAML::Mark m = node.Mark();
    if (m.is_null() || !seen.insert({m.pos, static_cast<int>(node.Type())}).second) continue;
    if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i)
        todo.emplace_back(node[i], fmt::format("{}[{}]", path, i));
      continue;
    }
    std::map<std::string, int> lines;  // key → 1-based line of its first occurrence
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        errors.add(mark_of(kv.first, m), path, non_scalar_key(kv.first));
        continue;
      }
      const std::string& key = kv.first.Scalar();
      const YAML::Mark km = mark_of(kv.first, m);
      auto [it, first] = lines.emplace(key, km.line + 1);
      if (!first) {
        errors.add(km, join_path(path, key),
                   fmt::format("given twice in one map (first on line {})", it->second));
        continue;
      }
      todo.emplace_back(kv.second, join_path(path, key));
    }
  }
}

// Closes the descriptor however the read ends.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string to_string(const Problem& p) {
  std::string s = p.file;
  if (p.line > 0) s += fmt::format(":{}:{}", p.line, p.column);
  for (const std::string* part : {&p.key, &p.what}) {
    if (part->empty()) continue;
    if (!s.empty()) s += ": ";
    s += *part;
  }
  return s;
}

LoadError::LoadError(std::string subject, std::vector<Problem> problems)
    : std::runtime_error(joined(lines_of(problems))),
      subject_(std::move(subject)),
      problems_(std::move(problems)),
      lines_(lines_of(problems_)) {}

Errors::Errors(std::string file, std::string subject, Mode mode)
    : file_(std::move(file)), subject_(std::move(subject)), mode_(mode) {}

void Errors::add(const YAML::Mark& at, std::string key, std::string what) {
  Problem p;
  p.file = file_;
  if (!at.is_null()) {
    p.line = at.line + 1;
    p.column = at.column + 1;
  }
  p.key = std::move(key);
  p.what = std::move(what);
  add(std::move(p));
}

void Errors::add(Problem p) {
  if (mode_ == Mode::stop_at_first) throw LoadError(subject_, {std::move(p)});
  problems_.push_back(std::move(p));
}

void Errors::raise_if_any() const {
  if (problems_.empty()) return;
  std::vector<Problem> sorted = problems_;
  // In file order, so that an operator reads them top to bottom; those without a position
  // (about the file as a whole) first.
  std::stable_sort(sorted.begin(), sorted.end(), [](const Problem& a, const Problem& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  throw LoadError(subject_, std::move(sorted));
}

std::optional<std::string> read_regular_file(const std::filesystem::path& file, std::string& why,
                                             std::size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  Fd fd{::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
  if (fd.fd < 0) {
    why = fmt::format("cannot be read ({})", std::strerror(errno));
    return std::nullopt;
  }
  // Asked of the open file, not the path, so nothing can be swapped in between.
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) {
    why = fmt::format("cannot be read ({})", std::strerror(errno));
    return std::nullopt;
  }
  if (S_ISDIR(st.st_mode)) {
    why = "is a directory, not a file";
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    why = "not a regular file";
    return std::nullopt;
  }
  const std::string too_large = "larger than " + size_text(max_bytes);
  if (static_cast<std::uintmax_t>(st.st_size) > max_bytes) {
    why = too_large;
    return std::nullopt;
  }
  std::string text;
  char buf[16384];
  while (true) {  // bounded: the file may grow while it is read
    const ssize_t n = ::read(fd.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      why = fmt::format("cannot be read ({})", std::strerror(errno));
      return std::nullopt;
    }
    if (n == 0) break;
    if (text.size() + static_cast<std::size_t>(n) > max_bytes) {
      why = too_large;
      return std::nullopt;
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

Located load_file(const std::filesystem::path& file, const std::string& subject,
                  std::size_t max_bytes) {
  std::string why;
  std::optional<std::string> text = read_regular_file(file, why, max_bytes);
  if (!text) {
    Errors errors(file.string(), subject);
    errors.add(YAML::Mark::null_mark(), "", why);
    errors.raise_if_any();
  }
  return load_text(*text, file.string(), subject, max_bytes);
}

Located load_text(std::string_view text, std::string file, const std::string& subject,
                  std::size_t max_bytes) {
  Errors errors(file, subject);
  if (text.size() > max_bytes) {
    errors.add(YAML::Mark::null_mark(), "", "larger than " + size_text(max_bytes));
    errors.raise_if_any();
  }
  Located out{std::move(file), YAML::Node()};
  try {
    out.node = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {  // ParserException, and DeepRecursion among them
    errors.add(e.mark, "", "YAML syntax: " + e.msg);
    errors.raise_if_any();
  }
  check_structure(out.node, errors);
  errors.raise_if_any();
  return out;
}

YAML::Mark mark_of(const YAML::Node& n, const YAML::Mark& fallback) {
  if (!n.IsDefined()) return fallback;
  const YAML::Mark m = n.Mark();
  return m.is_null() ? fallback : m;
}

Map::Map(YAML::Node node, std::string path, Errors& errors, std::string_view not_a_map,
         std::set<std::string> accepted)
    : node_(std::move(node)), path_(std::move(path)), errors_(errors), read_(std::move(accepted)) {
  if (!node_.IsDefined() || node_.IsNull()) return;
  if (!node_.IsMap()) {
    errors_.add(mark_of(node_), path_, std::string(not_a_map));
    return;
  }
  for (const auto& kv : node_) {
    if (kv.first.IsScalar())
      items_.emplace_back(kv.first, kv.second);
    else  // load_text refuses these; a node built elsewhere may still hold one
      errors_.add(mark_of(kv.first, mark_of(node_)), path_, non_scalar_key(kv.first));
  }
}

std::string Map::at(const std::string& key) const { return join_path(path_, key); }

const YAML::Node* Map::find(const std::string& key) const {
  // Searched rather than indexed: yaml-cpp's operator[] inserts (or yields an invalid node).
  for (const auto& [k, v] : items_)
    if (k.Scalar() == key) return &v;
  return nullptr;
}

bool Map::has(const std::string& key) const {
  const YAML::Node* v = find(key);
  return v && !v->IsNull();
}

std::vector<std::string> Map::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : items_) out.push_back(k.Scalar());
  return out;
}

YAML::Node Map::value(const std::string& key) {
  read_.insert(key);
  const YAML::Node* v = find(key);
  return v ? *v : YAML::Node(YAML::NodeType::Undefined);
}

Problem Map::problem(const std::string& key, const std::string& what) const {
  YAML::Mark where = mark_of(node_);
  if (!key.empty()) {
    for (const auto& [k, v] : items_) {
      if (k.Scalar() != key) continue;
      // A null value's mark is where the next token starts, often the next line: use the key's.
      where = v.IsNull() ? mark_of(k, where) : mark_of(v, mark_of(k, where));
      break;
    }
  }
  Problem p;
  p.file = errors_.file();
  if (!where.is_null()) {
    p.line = where.line + 1;
    p.column = where.column + 1;
  }
  p.key = key.empty() ? path_ : at(key);
  p.what = what;
  return p;
}

void Map::fail(const std::string& key, const std::string& what) { errors_.add(problem(key, what)); }

std::string Map::str(const std::string& key) {
  const YAML::Node v = value(key);
  if (!v.IsDefined() || v.IsNull()) {
    fail(key, "required");
    return {};
  }
  if (!v.IsScalar()) {
    fail(key, "must be a string");
    return {};
  }
  if (v.Scalar().empty()) fail(key, "must not be empty");
  return v.Scalar();
}

std::string Map::str(const std::string& key, const std::string& fallback, Empty empty) {
  const YAML::Node v = value(key);
  if (!v.IsDefined() || v.IsNull()) return fallback;
  if (!v.IsScalar()) {
    fail(key, "must be a string");
    return fallback;
  }
  if (v.Scalar().empty() && empty == Empty::refused) {
    fail(key, "must not be empty");
    return fallback;
  }
  return v.Scalar();
}

long long Map::integer(const std::string& key, long long min, long long max) {
  if (!has(key)) {
    value(key);
    fail(key, "required");
    return min;
  }
  return integer(key, min, min, max);
}

long long Map::integer(const std::string& key, long long fallback, long long min, long long max) {
  const YAML::Node v = value(key);
  if (!v.IsDefined() || v.IsNull()) return fallback;
  long long n = 0;
  if (!v.IsScalar() || !YAML::convert<long long>::decode(v, n)) {
    fail(key, "must be an integer");
    return fallback;
  }
  if (n < min || n > max) {
    fail(key, fmt::format("must be between {} and {}", min, max));
    return fallback;
  }
  return n;
}

double Map::number(const std::string& key, double fallback, double min, double max) {
  const YAML::Node v = value(key);
  if (!v.IsDefined() || v.IsNull()) return fallback;
  double n = 0;
  if (!v.IsScalar() || !YAML::convert<double>::decode(v, n)) {
    fail(key, "must be a number");
    return fallback;
  }
  if (!(n >= min && n <= max)) {  // NaN too
    fail(key, fmt::format("must be between {} and {}", min, max));
    return fallback;
  }
  return n;
}

bool Map::boolean(const std::string& key, bool fallback) {
  const YAML::Node v = value(key);
  if (!v.IsDefined() || v.IsNull()) return fallback;
  bool b = false;
  if (!v.IsScalar() || !YAML::convert<bool>::decode(v, b)) {
    fail(key, "must be true or false");
    return fallback;
  }
  return b;
}

std::vector<std::string> Map::strings(const std::string& key) {
  const YAML::Node v = value(key);
  std::vector<std::string> out;
  if (!v.IsDefined() || v.IsNull()) return out;
  if (!v.IsSequence()) {
    fail(key, "must be a list");
    return out;
  }
  for (const auto& item : v) {
    if (!item.IsScalar()) {
      fail(key, "must be a list of strings");
      return {};
    }
    out.push_back(item.Scalar());
  }
  return out;
}

Map Map::map(const std::string& key, std::string_view not_a_map) {
  return Map(value(key), at(key), errors_, not_a_map);
}

void Map::finish() {
  for (const auto& [k, v] : items_)
    if (!read_.count(k.Scalar()))
      errors_.add(mark_of(k, mark_of(node_)), at(k.Scalar()), "unknown key");
}

}  // namespace dispatcher::config
