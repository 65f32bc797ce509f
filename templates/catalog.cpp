// Loading templates/<locale>/<name>/ into immutable compiled templates, and rendering them.
#include "templates/catalog.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "templates/mustache.hpp"
#include "templates/sms_count.hpp"

namespace dispatcher::templates {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

enum class Part : std::uint8_t {
  email_subject,
  email_text,
  email_html,
  sms_text,
  push_title,
  push_body,
  line_text
};
constexpr std::size_t part_count = 7;
constexpr std::array<std::string_view, part_count> part_files{
    "email.subject", "email.txt", "email.html", "sms.txt", "push.title", "push.body", "line.txt"};
constexpr std::array<Channel, part_count> part_channel{
    Channel::email, Channel::email, Channel::email, Channel::sms,
    Channel::push,  Channel::push,  Channel::line};

constexpr std::array<std::string_view, 4> injected_variables{"unsubscribe_url", "sender_name",
                                                             "sender_contact", "message_id"};
constexpr std::string_view no_category = "none";

bool is_injected(std::string_view name) {
  return std::find(injected_variables.begin(), injected_variables.end(), name) !=
         injected_variables.end();
}

std::string& part_of(Rendered& r, Part p) {
  switch (p) {
    case Part::email_subject:
      return r.email_subject;
    case Part::email_text:
      return r.email_text;
    case Part::email_html:
      return r.email_html;
    case Part::sms_text:
      return r.sms_text;
    case Part::push_title:
      return r.push_title;
    case Part::push_body:
      return r.push_body;
    case Part::line_text:
      return r.line_text;
  }
  return r.email_subject;
}

// How many UTF-16 code units well-formed UTF-8 `s` takes (a 4-byte sequence is two).
std::size_t utf16_units(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char b : s) {
    if ((b & 0xC0) != 0x80) ++n;  // a lead byte starts a character
    if ((b & 0xF8) == 0xF0) ++n;  // … and one outside the BMP is a surrogate pair
  }
  return n;
}

// The 1-based line of the first byte that is not well-formed UTF-8, if any.
std::optional<std::size_t> invalid_utf8_line(std::string_view s) {
  std::size_t line = 1;
  for (std::size_t i = 0; i < s.size();) {
    auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 == '\n') ++line;
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = b0 >= 0xC2 && b0 <= 0xDF   ? 2
                      : b0 >= 0xE0 && b0 <= 0xEF ? 3
                      : b0 >= 0xF0 && b0 <= 0xF4 ? 4
                                                 : 0;
    if (len == 0 || i + len > s.size()) return line;
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return line;
    auto b1 = static_cast<unsigned char>(s[i + 1]);
    if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F) || (b0 == 0xF0 && b1 < 0x90) ||
        (b0 == 0xF4 && b1 > 0x8F))
      return line;  // overlong, surrogate or beyond U+10FFFF
    i += len;
  }
  return std::nullopt;
}

bool valid_locale(std::string_view s) {
  // "ja", "en", "zh-TW", "pt_BR": two or three lowercase letters, optionally a region.
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  std::size_t i = 0;
  while (i < s.size() && lower(s[i])) ++i;
  if (i < 2 || i > 3) return false;
  if (i == s.size()) return true;
  if (s[i] != '-' && s[i] != '_') return false;
  std::string_view region = s.substr(i + 1);
  return region.size() == 2 && upper(region[0]) && upper(region[1]);
}

bool valid_template_name(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              (c == '.' && s[i - 1] != '.');
    if (!ok) return false;
  }
  return true;
}

class TemplateImpl final : public Template {
 public:
  std::string name_, locale_, purpose_;
  std::vector<std::string> categories_;
  std::array<std::optional<mustache::Compiled>, part_count> parts_;
  std::array<bool, channel_count> channels_{};
  std::size_t max_sms_segments_ = 3;
  bool strict_ = true;

  std::string_view name() const override { return name_; }
  std::string_view locale() const override { return locale_; }
  std::string_view purpose() const override { return purpose_; }
  std::span<const std::string> categories() const override { return categories_; }
  bool has_channel(Channel c) const override { return channels_[index(c)]; }
  std::size_t max_sms_segments() const override { return max_sms_segments_; }

  std::variant<Rendered, RenderError> render(Channel c, const json& data,
                                             const json& injected) const override {
    Rendered out;
    if (auto err = render_into(c, data, injected, out)) return std::move(*err);
    return out;
  }

  std::optional<RenderError> render_into(Channel c, const json& data, const json& injected,
                                         Rendered& out) const override {
    for (std::size_t p = 0; p < part_count; ++p) part_of(out, Part(p)).clear();
    if (!has_channel(c)) {
      std::size_t first = 0;
      while (part_channel[first] != c) ++first;
      return RenderError{"template_missing_part:" + std::string(part_files[first]),
                         "template " + name_ + " (" + locale_ + ") has no " +
                             std::string(to_string(c)) + " parts"};
    }
    // The injected values are searched before the message's data.
    const std::array<const json*, 2> frames{data.is_null() ? nullptr : &data,
                                            injected.is_null() ? nullptr : &injected};
    for (std::size_t p = 0; p < part_count; ++p) {
      if (part_channel[p] != c) continue;
      mustache::RenderOptions options;
      options.escape =
          Part(p) == Part::email_html ? mustache::Escape::html : mustache::Escape::none;
      options.strict = strict_;
      if (auto failure = mustache::render(*parts_[p], frames, options, part_of(out, Part(p)))) {
        std::string where = name_ + "/" + locale_ + "/" + std::string(part_files[p]) + ":" +
                            std::to_string(failure->line);
        if (failure->why == mustache::RenderFailure::Why::missing_variable)
          return RenderError{"template_missing_variable:" + std::string(failure->variable),
                             where + ": no value for {{" + std::string(failure->variable) + "}}"};
        return RenderError{"template_too_deep", where + ": sections nested too deeply"};
      }
    }
    if (c == Channel::sms) {
      SmsCount count = count_sms(out.sms_text);
      if (count.segments > max_sms_segments_)
        return RenderError{"sms_too_long",
                           "template " + name_ + " (" + locale_ + ") renders an SMS of " +
                               std::to_string(count.units) + " " +
                               std::string(to_string(count.encoding)) + " units in " +
                               std::to_string(count.segments) + " segments; at most " +
                               std::to_string(max_sms_segments_) + " are allowed"};
    }
    if (c == Channel::line) {
      // The Messaging API refuses a text message object over 5,000 characters (UTF-16 units).
      constexpr std::size_t line_max_units = 5000;
      if (const std::size_t units = utf16_units(out.line_text); units > line_max_units)
        return RenderError{"line_too_long", "template " + name_ + " (" + locale_ +
                                                ") renders a LINE message of " +
                                                std::to_string(units) + " characters; at most " +
                                                std::to_string(line_max_units) + " are allowed"};
    }
    return std::nullopt;
  }
};

struct Declared {
  std::string category;
  std::size_t line;
  bool used = false;
};

class Loader {
 public:
  Loader(const LoadOptions& opts, std::vector<std::string>& errors)
      : opts_(opts), errors_(errors) {}

  void error(const fs::path& file, std::size_t line, std::string_view what) {
    errors_.push_back(file.string() + ":" + std::to_string(line) + ": " + std::string(what));
  }

  std::unique_ptr<TemplateImpl> load(const fs::path& dir, std::string locale, std::string name) {
    const std::size_t errors_before = errors_.size();
    auto tpl = std::make_unique<TemplateImpl>();
    tpl->name_ = std::move(name);
    tpl->locale_ = std::move(locale);
    tpl->strict_ = opts_.strict;

    // Which files are here: the parts, meta.yaml, nothing else.
    std::array<bool, part_count> present{};
    bool has_meta = false;
    std::vector<fs::path> entries;
    for (const auto& e : fs::directory_iterator(dir)) entries.push_back(e.path());
    std::sort(entries.begin(), entries.end());
    for (const fs::path& p : entries) {
      std::string file = p.filename().string();
      auto it = std::find(part_files.begin(), part_files.end(), file);
      if (it != part_files.end() && fs::is_regular_file(p)) {
        present[static_cast<std::size_t>(it - part_files.begin())] = true;
      } else if (file == "meta.yaml" && fs::is_regular_file(p)) {
        has_meta = true;
      } else {
        error(p, 1,
              "unknown file in a template folder (expected meta.yaml, email.subject, email.txt, "
              "email.html, sms.txt, push.title, push.body, line.txt)");
      }
    }

    std::map<std::string, Declared, std::less<>> variables;
    std::optional<std::size_t> meta_max_segments;
    const fs::path meta_path = dir / "meta.yaml";
    if (!has_meta) {
      error(meta_path, 1,
            "missing: every template needs a meta.yaml naming its purpose and variables");
    } else if (auto text = read(meta_path)) {
      parse_meta(meta_path, *text, *tpl, variables, meta_max_segments);
    }

    // Channels: offered when any of their files exists; then all of them must.
    for (Channel c : all_channels) {
      bool any = false, all = true;
      for (std::size_t p = 0; p < part_count; ++p)
        if (part_channel[p] == c) {
          any = any || present[p];
          all = all && present[p];
        }
      tpl->channels_[index(c)] = any;
      if (!any || all) continue;
      for (std::size_t p = 0; p < part_count; ++p)
        if (part_channel[p] == c && !present[p])
          error(dir / part_files[p], 1,
                "missing: the template offers " + std::string(to_string(c)) + ", which needs " +
                    (c == Channel::email  ? "email.subject, email.txt and email.html"
                     : c == Channel::sms  ? "sms.txt"
                     : c == Channel::line ? "line.txt"
                                          : "push.title and push.body"));
    }
    if (std::none_of(tpl->channels_.begin(), tpl->channels_.end(), [](bool b) { return b; }))
      error(dir, 1, "the template has no parts for any channel");

    bool all_compiled = true;
    for (std::size_t p = 0; p < part_count; ++p) {
      if (!present[p]) continue;
      const fs::path path = dir / part_files[p];
      auto text = read(path);
      if (!text) {
        all_compiled = false;
        continue;
      }
      // The file's final newline ends the file, not the message (an SMS or a subject has none).
      if (text->ends_with("\r\n"))
        text->resize(text->size() - 2);
      else if (text->ends_with('\n'))
        text->pop_back();
      auto compiled = mustache::compile(*text, path.string(), partials_);
      if (auto* err = std::get_if<mustache::CompileError>(&compiled)) {
        error(path, err->line, err->message);
        all_compiled = false;
        continue;
      }
      tpl->parts_[p] = std::move(std::get<mustache::Compiled>(compiled));
      check_names(path, *tpl->parts_[p], variables);
    }

    for (const auto& [var, decl] : variables)
      if (all_compiled && !decl.used)
        error(meta_path, decl.line, "variable '" + var + "' is declared but no part uses it");

    if (has_meta && !tpl->purpose_.empty() && opts_.is_marketing &&
        opts_.is_marketing(tpl->purpose_))
      check_marketing(dir, *tpl);

    std::size_t max = opts_.default_max_sms_segments;
    if (meta_max_segments) max = *meta_max_segments;
    if (auto it = opts_.max_sms_segments.find(tpl->name_); it != opts_.max_sms_segments.end())
      max = it->second;
    tpl->max_sms_segments_ = max;

    if (errors_.size() != errors_before) return nullptr;
    return tpl;
  }

 private:
  std::optional<std::string> read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      error(path, 1, "cannot be read");
      return std::nullopt;
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    std::string text = std::move(buf).str();
    if (auto line = invalid_utf8_line(text)) {
      error(path, *line, "not valid UTF-8");
      return std::nullopt;
    }
    return text;
  }

  void parse_meta(const fs::path& path, const std::string& text, TemplateImpl& tpl,
                  std::map<std::string, Declared, std::less<>>& variables,
                  std::optional<std::size_t>& max_segments) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      error(path, static_cast<std::size_t>(e.mark.line) + 1, "not valid YAML: " + e.msg);
      return;
    }
    auto line_of = [](const YAML::Node& n) { return static_cast<std::size_t>(n.Mark().line) + 1; };
    if (!root.IsMap()) {
      error(path, 1, "expected a mapping with purpose, variables and optionally max_sms_segments");
      return;
    }
    bool has_purpose = false;
    std::set<std::string> categories;
    for (const auto& kv : root) {
      const std::string key = kv.first.Scalar();
      const YAML::Node& value = kv.second;
      if (key == "purpose") {
        has_purpose = true;
        if (!value.IsScalar() || value.Scalar().empty()) {
          error(path, line_of(kv.first), "purpose must be a name");
          continue;
        }
        tpl.purpose_ = value.Scalar();
        if (opts_.known_purpose && !opts_.known_purpose(tpl.purpose_))
          error(path, line_of(value), "unknown purpose '" + tpl.purpose_ + "'");
      } else if (key == "variables") {
        if (value.IsNull()) continue;
        if (!value.IsMap()) {
          error(path, line_of(kv.first), "variables must map each variable to a data category");
          continue;
        }
        for (const auto& var : value) {
          const std::string name = var.first.Scalar();
          const std::size_t line = line_of(var.first);
          if (is_injected(name)) {
            error(path, line,
                  "variable '" + name + "' is filled by the dispatcher; do not declare it");
            continue;
          }
          if (!var.second.IsScalar()) {
            error(path, line, "variable '" + name + "' must be tagged with one data category");
            continue;
          }
          const std::string category = var.second.Scalar();
          if (category != no_category && opts_.known_category && !opts_.known_category(category)) {
            error(path, line,
                  "variable '" + name + "' has unknown data category '" + category +
                      "' (use a policy category or 'none')");
            continue;
          }
          if (category != no_category) categories.insert(category);
          variables.emplace(name, Declared{category, line});
        }
      } else if (key == "max_sms_segments") {
        std::size_t n = 0;
        try {
          n = value.as<std::size_t>();
        } catch (const YAML::Exception&) {
          n = 0;
        }
        if (n == 0)
          error(path, line_of(value), "max_sms_segments must be a positive integer");
        else
          max_segments = n;
      } else {
        error(path, line_of(kv.first),
              "unknown key '" + key + "' (expected purpose, variables, max_sms_segments)");
      }
    }
    if (!has_purpose) error(path, 1, "missing key 'purpose'");
    tpl.categories_.assign(categories.begin(), categories.end());
  }

  // Every name a part uses must be declared in meta.yaml or be injected by the dispatcher.
  void check_names(const fs::path& path, const mustache::Compiled& part,
                   std::map<std::string, Declared, std::less<>>& variables) {
    for (const auto& node : part.nodes()) {
      using K = mustache::Compiled::Kind;
      if (node.kind == K::partial) {
        error(path, node.line, "partials are not supported in catalog templates");
        continue;
      }
      if (node.kind == K::text) continue;
      const mustache::Name& name = part.name_of(node);
      if (name.parts.empty()) continue;  // "." inside a section
      const std::string& root = name.parts.front();
      if (is_injected(root)) continue;
      auto it = variables.find(root);
      if (it == variables.end()) {
        error(path, node.line, "variable '" + root + "' is not declared in meta.yaml");
        continue;
      }
      it->second.used = true;
    }
  }

  // The variables a part always prints: those outside every section.
  static std::set<std::string, std::less<>> top_level_names(const mustache::Compiled& part) {
    std::set<std::string, std::less<>> names;
    auto nodes = part.nodes();
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      using K = mustache::Compiled::Kind;
      const auto& n = nodes[i];
      if (n.kind == K::variable || n.kind == K::raw_variable) names.insert(part.name_of(n).full);
      if (n.kind == K::section || n.kind == K::inverted) i = n.end - 1;
    }
    return names;
  }

  // POLICY.md, "What a sent marketing message must carry": the sender's name and contact, and a
  // way to stop, printed unconditionally (outside any section).
  void check_marketing(const fs::path& dir, const TemplateImpl& tpl) {
    std::array<std::set<std::string, std::less<>>, part_count> names;
    for (std::size_t p = 0; p < part_count; ++p)
      if (tpl.parts_[p]) names[p] = top_level_names(*tpl.parts_[p]);
    auto has = [&](Part p, std::string_view var) { return names[std::size_t(p)].contains(var); };
    const std::string why =
        " (a marketing template, purpose '" + tpl.purpose_ + "', must carry it; POLICY.md)";
    auto require_sender = [&](Part where, std::initializer_list<Part> any_of) {
      for (std::string_view var :
           {std::string_view("sender_name"), std::string_view("sender_contact")}) {
        bool found = false;
        for (Part p : any_of) found = found || has(p, var);
        if (!found)
          error(dir / part_files[std::size_t(where)], 1,
                "does not print {{" + std::string(var) + "}} outside a section" + why);
      }
    };
    if (tpl.channels_[index(Channel::email)]) {
      for (Part body : {Part::email_text, Part::email_html}) {
        require_sender(body, {Part::email_subject, body});
        if (!has(body, "unsubscribe_url"))
          error(dir / part_files[std::size_t(body)], 1,
                "has no unsubscribe link {{unsubscribe_url}} outside a section" + why);
      }
    }
    if (tpl.channels_[index(Channel::sms)]) {
      require_sender(Part::sms_text, {Part::sms_text});
      if (!has(Part::sms_text, "unsubscribe_url"))
        error(dir / "sms.txt", 1,
              "has no stop instruction with {{unsubscribe_url}} outside a section" + why);
    }
    if (tpl.channels_[index(Channel::push)])
      require_sender(Part::push_body, {Part::push_title, Part::push_body});
    if (tpl.channels_[index(Channel::line)]) {
      require_sender(Part::line_text, {Part::line_text});
      if (!has(Part::line_text, "unsubscribe_url"))
        error(dir / "line.txt", 1,
              "has no way to stop {{unsubscribe_url}} outside a section" + why);
    }
  }

  const LoadOptions& opts_;
  std::vector<std::string>& errors_;
  mustache::Partials partials_;  // none are registered: catalog templates use no partials
};

std::string join_errors(const std::vector<std::string>& errors) {
  std::string s =
      "templates: " + std::to_string(errors.size()) + (errors.size() == 1 ? " error" : " errors");
  for (const auto& e : errors) s += "\n  " + e;
  return s;
}

}  // namespace

LoadError::LoadError(std::vector<std::string> errors)
    : std::runtime_error(join_errors(errors)), errors_(std::move(errors)) {}

struct Catalog::Impl {
  // name → locale → template
  std::map<std::string, std::map<std::string, std::unique_ptr<TemplateImpl>, std::less<>>,
           std::less<>>
      templates;
};

Catalog::Catalog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Catalog::Catalog(Catalog&&) noexcept = default;
Catalog& Catalog::operator=(Catalog&&) noexcept = default;
Catalog::~Catalog() = default;

Catalog Catalog::load(const std::filesystem::path& dir, const LoadOptions& opts) {
  std::vector<std::string> errors;
  auto impl = std::make_unique<Impl>();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw LoadError({dir.string() + ":1: not a directory"});
  Loader loader(opts, errors);

  std::vector<fs::path> locales;
  for (const auto& e : fs::directory_iterator(dir))  // files here are the engine's sources
    if (e.is_directory() && !e.path().filename().string().starts_with('.'))
      locales.push_back(e.path());
  std::sort(locales.begin(), locales.end());
  for (const fs::path& locale_dir : locales) {
    const std::string locale = locale_dir.filename().string();
    if (!valid_locale(locale)) {
      loader.error(locale_dir, 1, "not a locale folder (expected e.g. ja, en, zh-TW)");
      continue;
    }
    std::vector<fs::path> names;
    for (const auto& e : fs::directory_iterator(locale_dir)) {
      if (e.is_directory())
        names.push_back(e.path());
      else
        loader.error(e.path(), 1, "unexpected file; a locale folder holds template folders only");
    }
    std::sort(names.begin(), names.end());
    for (const fs::path& tdir : names) {
      const std::string name = tdir.filename().string();
      if (!valid_template_name(name)) {
        loader.error(
            tdir, 1,
            "not a template name (lowercase words joined by dots, e.g. reservation.reminder)");
        continue;
      }
      if (auto tpl = loader.load(tdir, locale, name))
        impl->templates[name][locale] = std::move(tpl);
    }
  }

  // Across locales: one purpose per name, and a ja version for every name (the fallback).
  for (const auto& [name, by_locale] : impl->templates) {
    auto ja = by_locale.find("ja");
    if (ja == by_locale.end()) {
      errors.push_back((dir / "ja" / name).string() +
                       ":1: missing: every template needs a ja version (the fallback locale)");
      continue;
    }
    for (const auto& [locale, tpl] : by_locale)
      if (tpl->purpose_ != ja->second->purpose_)
        errors.push_back((dir / locale / name / "meta.yaml").string() + ":1: purpose '" +
                         tpl->purpose_ + "' differs from the ja version's '" +
                         ja->second->purpose_ + "'");
  }
  if (!errors.empty()) throw LoadError(std::move(errors));
  return Catalog(std::move(impl));
}

const Template* Catalog::find(std::string_view name, std::string_view locale) const {
  auto it = impl_->templates.find(name);
  if (it == impl_->templates.end()) return nullptr;
  const auto& by_locale = it->second;
  if (auto l = by_locale.find(locale); l != by_locale.end()) return l->second.get();
  // "en-US" → "en", then the fallback.
  if (auto cut = locale.find_first_of("-_"); cut != std::string_view::npos)
    if (auto l = by_locale.find(locale.substr(0, cut)); l != by_locale.end())
      return l->second.get();
  if (auto l = by_locale.find("ja"); l != by_locale.end()) return l->second.get();
  return nullptr;
}

bool Catalog::contains(std::string_view name) const {
  return impl_->templates.find(name) != impl_->templates.end();
}

std::vector<std::string> Catalog::names() const {
  std::vector<std::string> out;
  out.reserve(impl_->templates.size());
  for (const auto& [name, _] : impl_->templates) out.push_back(name);
  return out;
}

}  // namespace dispatcher::templates
