// The Go text/template subset line_format and label_format accept: text,
// {{ actions }} with trim markers, pipelines (`.a | lower | trunc 5`),
// parenthesised calls, field references (.name), __line__ and __timestamp__,
// string/number/bool literals, if / else if / else / end and with, and the
// functions Loki registers (template_funcs.cc). A function outside that set
// is an error at parse time naming it, as Loki's (Go's) parser reports it.
//
// Thread-safety: a parsed Template is immutable; Execute is reentrant.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace loge::query {

// A template value: Go's dynamic types as far as the functions need them.
struct TmplTime {
  int64_t ns = 0;
};
struct TmplNil {};
using TmplValue = std::variant<TmplNil, std::string, int64_t, double, bool, TmplTime>;

// What a template runs against: the entry's labels (sorted) — `.name`
// reads them, a missing one is "" — its line and timestamp.
struct TemplateInput {
  const Labels* labels = nullptr;
  std::string_view line;
  int64_t ts = 0;
};

class Template {
 public:
  // `name` is how errors name the template ("line" or "label"):
  // `template: line:1: function "atoi" not defined`.
  static Result<Template> Parse(std::string_view text, std::string_view name);
  // Appends the output to *out. On failure the message is Go's.
  Status Execute(const TemplateInput& in, std::string* out) const;
  // Field names the template reads (for parser hints).
  void Fields(std::vector<std::string>* out) const;
  // The field name when the whole template is `{{.name}}`.
  const std::optional<std::string>& simple_field() const { return simple_field_; }

  struct Node;

 private:
  std::shared_ptr<const Node> root_;
  std::string name_;
  std::optional<std::string> simple_field_;
};

// Formats a value as Go's fmt.Sprint does.
std::string TmplToString(const TmplValue& v);
// Go's fmt.Sprintf for the verbs templates use (%s %d %f %g %e %v %q %x
// %X %t %c %% with flags, width and precision).
std::string GoSprintf(std::string_view format, const std::vector<TmplValue>& args);
// Go's time.Format layout ("2006-01-02T15:04:05.000Z07:00") in UTC.
std::string GoFormatTime(int64_t ns, std::string_view layout);

}  // namespace loge::query
