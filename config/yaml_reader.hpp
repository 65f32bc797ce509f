// The one strict YAML reader for the files read at start-up (dispatcher.yaml, the policy file,
// the providers' entries), and the one error they raise.
//
//  - Loading refuses what would hang or flood the reader (anything but a regular file, more than
//    max_file_bytes) and what yaml-cpp accepts but a config must not hold: a key that is a list
//    or a map (`[a]: b`), the same key twice in a map. Syntax errors keep their position.
//  - Map walks one mapping: every key it reads is marked, so finish() names the keys nobody
//    asked for; values are checked for type and range and fall back to a default when absent.
//  - Every mistake is a Problem, written "file:line:col: key.path: what" (the position left out
//    only when there is none). Errors gathers them; LoadError carries them all at once, in file
//    order, so that `check` lists every mistake and an operator fixes the file in one pass.
//
// Start-up work, so mistakes are exceptions (LoadError), caught in app/'s main.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dispatcher::config {

// A start-up file is a few kilobytes; this bounds what a mistaken path can make us read.
inline constexpr std::size_t max_file_bytes = std::size_t{1} << 20;  // 1 MiB

struct Problem {
  std::string file;
  int line = 0, column = 0;  // 1-based; 0 when the mistake has no position (a missing file)
  std::string key;           // "consumer.batch_size"; empty when not about one key
  std::string what;
};
// "file:line:col: key: what", leaving out the position or the key when there is none.
std::string to_string(const Problem& p);

class LoadError : public std::runtime_error {
 public:
  // `subject` names what was loaded ("config", "policy"): main prints it before each line.
  LoadError(std::string subject, std::vector<Problem> problems);

  const std::string& subject() const noexcept { return subject_; }
  const std::vector<Problem>& problems() const noexcept { return problems_; }
  const std::vector<std::string>& errors() const noexcept { return lines_; }  // to_string of each
  // what() is the lines joined with "; ", for a one-line error elsewhere.

 private:
  std::string subject_;
  std::vector<Problem> problems_;
  std::vector<std::string> lines_;
};

// Gathers the mistakes found in one file.
class Errors {
 public:
  // collect: keep reading after a mistake, so one run reports them all.
  // stop_at_first: throw the first one at once, for readers whose later keys depend on earlier
  // ones (a provider entry).
  enum class Mode { collect, stop_at_first };

  explicit Errors(std::string file, std::string subject = "config", Mode mode = Mode::collect);

  const std::string& file() const noexcept { return file_; }
  const std::string& subject() const noexcept { return subject_; }

  // `at` null (YAML::Mark::null_mark()) for no position; `key` empty for none.
  void add(const YAML::Mark& at, std::string key, std::string what);
  void add(Problem p);  // one found by another reader of the same file
  bool empty() const noexcept { return problems_.empty(); }
  std::size_t size() const noexcept { return problems_.size(); }

  // Throws one LoadError holding every mistake, in file order, if there is any.
  void raise_if_any() const;

 private:
  std::string file_, subject_;
  Mode mode_;
  std::vector<Problem> problems_;
};

// A node and the file it came from: enough for a later reader to say file:line:col. A loaded
// file is one; so is a section kept for later (the `channels:` section, read when the
// providers are built).
struct Located {
  std::string file;  // the path, or a name such as "<config>"; empty for built-in defaults
  YAML::Node node;
};

// Reads and parses `file`. Throws LoadError (under `subject`) when it is not a regular file
// (a FIFO or /dev/zero would block or never end), is larger than `max_bytes`, cannot be read,
// is not valid YAML, holds a key that is not a plain scalar, or holds a key twice in one map.
Located load_file(const std::filesystem::path& file, const std::string& subject = "config",
                  std::size_t max_bytes = max_file_bytes);
// The same for text in hand, named `file` in errors.
Located load_text(std::string_view text, std::string file, const std::string& subject = "config",
                  std::size_t max_bytes = max_file_bytes);

// The bytes of `file`, or nullopt with `why` ("not a regular file", "larger than 1 MiB",
// "cannot be read (No such file or directory)"), for any start-up file: key files, secrets.
std::optional<std::string> read_regular_file(const std::filesystem::path& file, std::string& why,
                                             std::size_t max_bytes = max_file_bytes);

// The position of `n`, or `fallback` when `n` is absent or has none.
YAML::Mark mark_of(const YAML::Node& n, const YAML::Mark& fallback = YAML::Mark::null_mark());

// Walks one mapping. Reading a key marks it; finish() reports every key never read. A value of
// the wrong type or out of range is reported and the fallback returned, so a collecting reader
// goes on to find the next mistake. A mistake is placed at the value, else at its key, else at
// the map.
class Map {
 public:
  // `node` absent or null reads as an empty map; anything else but a map is a mistake
  // (`not_a_map`). `path` names the map in errors: "" for the top, "consumer",
  // "channels.sms[0]". `accepted`: keys read by someone else, never reported.
  Map(YAML::Node node, std::string path, Errors& errors,
      std::string_view not_a_map = "must be a map", std::set<std::string> accepted = {});
  Map(const Map&) = delete;
  Map& operator=(const Map&) = delete;

  const std::string& path() const noexcept { return path_; }
  std::string at(const std::string& key) const;  // "consumer" + "batch_size" → consumer.batch_size

  bool has(const std::string& key) const;    // present and not null
  std::vector<std::string> keys() const;     // in file order, for maps keyed by names
  YAML::Node value(const std::string& key);  // marks it read; an undefined node when absent

  std::string str(const std::string& key);  // required, not empty
  enum class Empty { allowed, refused };
  std::string str(const std::string& key, const std::string& fallback,
                  Empty empty = Empty::allowed);
  long long integer(const std::string& key, long long min, long long max);  // required
  long long integer(const std::string& key, long long fallback, long long min, long long max);
  double number(const std::string& key, double fallback, double min, double max);
  bool boolean(const std::string& key, bool fallback);
  std::vector<std::string> strings(const std::string& key);  // a list of scalars; empty if absent
  // The sub-map under `key` (an empty one if absent), read by its own walker.
  Map map(const std::string& key, std::string_view not_a_map = "must be a map");

  // Reports `what` about `key` (the map itself when empty), placed as described above.
  void fail(const std::string& key, const std::string& what);
  Problem problem(const std::string& key, const std::string& what) const;

  // Reports every key of the map never read (nor accepted).
  void finish();

 private:
  const YAML::Node* find(const std::string& key) const;  // the value; null when absent

  YAML::Node node_;
  std::string path_;
  Errors& errors_;
  std::set<std::string> read_;
  std::vector<std::pair<YAML::Node, YAML::Node>> items_;  // the scalar-keyed pairs, in order
};

}  // namespace dispatcher::config
