// The template catalog: every template under templates/<locale>/<name>/, parsed once at load.
//
// A Template is immutable after load and shared by all renders. Rendering reads the
// message's JSON directly; an error for one message is a value, never an exception.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/vocabulary.hpp"

namespace dispatcher::templates {

// The rendered parts of one channel; parts of other channels stay empty.
struct Rendered {
  std::string email_subject, email_text, email_html;  // email
  std::string sms_text;                               // sms
  std::string push_title, push_body;                  // push
  std::string line_text;                              // line
};

// reason is a stable code for the dead-letter stream: "template_missing_variable:<name>",
// "sms_too_long", "template_missing_part:<part>"; detail is a sentence for people.
struct RenderError {
  std::string reason;
  std::string detail;
};

struct LoadOptions {
  // Purposes that are marketing (from the policy file): their templates must carry the
  // sender's name and contact and a way to stop (POLICY.md).
  std::function<bool(std::string_view purpose)> is_marketing;
  // Purposes that exist (from the policy file); a meta.yaml naming another is a load error.
  std::function<bool(std::string_view purpose)> known_purpose;
  // Data categories that exist; a variable tagged with another is a load error.
  std::function<bool(std::string_view category)> known_category;
  bool strict = true;  // a missing variable is an error for that message
  std::size_t default_max_sms_segments = 3;
  std::map<std::string, std::size_t> max_sms_segments;  // per template name
};

class Template {
 public:
  virtual ~Template() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view locale() const = 0;
  virtual std::string_view purpose() const = 0;
  // The union of the categories meta.yaml tags its variables with.
  virtual std::span<const std::string> categories() const = 0;
  virtual bool has_channel(Channel c) const = 0;
  // `injected` holds the values the dispatcher fills per message (unsubscribe_url,
  // sender_name, sender_contact …); it is looked up before `data`.
  virtual std::variant<Rendered, RenderError> render(Channel c, const nlohmann::json& data,
                                                     const nlohmann::json& injected) const = 0;
  // As render(), into `out`, whose strings keep their capacity from call to call (the hot path
  // reuses one Rendered per worker). Every part of `out` is cleared first.
  virtual std::optional<RenderError> render_into(Channel c, const nlohmann::json& data,
                                                 const nlohmann::json& injected,
                                                 Rendered& out) const = 0;
  // The most SMS segments a rendered sms.txt may take (LoadOptions, else meta.yaml, else default).
  virtual std::size_t max_sms_segments() const = 0;
};

// Raised by Catalog::load with every error found, each "file:line: what".
class LoadError : public std::runtime_error {
 public:
  explicit LoadError(std::vector<std::string> errors);
  const std::vector<std::string>& errors() const noexcept { return errors_; }

 private:
  std::vector<std::string> errors_;
};

class Catalog {
 public:
  static Catalog load(const std::filesystem::path& dir,
                      const LoadOptions& opts);  // throws LoadError

  // The template for a name and locale, falling back to "ja"; null when the name is unknown.
  const Template* find(std::string_view name, std::string_view locale) const;
  bool contains(std::string_view name) const;
  std::vector<std::string> names() const;

  Catalog(Catalog&&) noexcept;
  Catalog& operator=(Catalog&&) noexcept;
  ~Catalog();

 private:
  struct Impl;
  explicit Catalog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dispatcher::templates
