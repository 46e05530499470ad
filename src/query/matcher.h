// Label matchers and line filters: the predicates of a query.
//
// Thread-safety: immutable after Make; share freely across query workers.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace re2 {
class RE2;
}

namespace loge::query {

enum class MatchType { kEq, kNeq, kRe, kNre };

// "=", "!=", "=~", "!~"; InvalidArgument otherwise.
Result<MatchType> ParseMatchType(std::string_view op);
const char* MatchTypeName(MatchType t);

// A stream-label matcher. A missing label matches as the empty string, as in
// Loki: {env!="prod"} selects streams without env, {env=""} only those.
class LabelMatcher {
 public:
  // Regexes are RE2 (Go syntax) and fully anchored. InvalidArgument names the
  // label and the regex error.
  static Result<LabelMatcher> Make(std::string name, std::string value, MatchType type);

  bool Matches(const Labels& labels) const;
  bool MatchesValue(std::string_view v) const;  // v = the label's value or ""
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }
  MatchType type() const { return type_; }
  // True if the matcher can only match streams that carry the label with a
  // non-empty value, so files without the label key can be skipped.
  bool RequiresLabel() const;

 private:
  std::string name_;
  std::string value_;
  MatchType type_ = MatchType::kEq;
  std::shared_ptr<const re2::RE2> re_;
};

// A filter on the line text. kContains is a case-sensitive substring.
enum class LineFilterType { kContains, kNotContains, kRegex, kNotRegex };

// One line filter with one or more alternatives (LogQL `|= "a" or "b"`):
//   kContains    the line contains at least one needle
//   kNotContains the line contains none of them
//   kRegex       at least one regex matches somewhere in the line (unanchored)
//   kNotRegex    none matches
// An empty needle is contained in every line.
class LineFilter {
 public:
  static Result<LineFilter> Make(LineFilterType type, std::string needle);
  // InvalidArgument if `needles` is empty or a regex alternative does not
  // compile (the message names that alternative).
  static Result<LineFilter> Make(LineFilterType type, std::vector<std::string> needles);
  bool Matches(std::string_view line) const;
  LineFilterType type() const { return type_; }
  // The first alternative; the only one unless the filter was built with `or`.
  const std::string& needle() const { return needles_.front(); }
  const std::vector<std::string>& needles() const { return needles_; }

 private:
  bool ContainsAny(std::string_view line) const;
  bool RegexMatchesAny(std::string_view line) const;

  LineFilterType type_ = LineFilterType::kContains;
  std::vector<std::string> needles_;  // never empty
  // Regex types: one compiled RE2 per needle. Kept apart rather than joined
  // as (?:a)|(?:b), which \Q…-quoting in one alternative would break.
  std::vector<std::shared_ptr<const re2::RE2>> res_;
};

}  // namespace loge::query
