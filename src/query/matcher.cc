#include "query/matcher.h"

#include <re2/re2.h>

#include <cstring>

namespace loge::query {

Result<MatchType> ParseMatchType(std::string_view op) {
  if (op == "=") return MatchType::kEq;
  if (op == "!=") return MatchType::kNeq;
  if (op == "=~") return MatchType::kRe;
  if (op == "!~") return MatchType::kNre;
  return Status::InvalidArgument("unknown matcher type \"" + std::string(op) + "\" (want =, !=, =~ or !~)");
}

const char* MatchTypeName(MatchType t) {
  switch (t) {
    case MatchType::kEq: return "=";
    case MatchType::kNeq: return "!=";
    case MatchType::kRe: return "=~";
    case MatchType::kNre: return "!~";
  }
  return "?";
}

namespace {

Result<std::shared_ptr<const re2::RE2>> CompileRegex(const std::string& pattern, bool anchored,
                                                     const std::string& what) {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_dot_nl(true);  // Loki/Prometheus: . matches newlines too
  auto re = std::make_shared<const re2::RE2>(anchored ? "^(?:" + pattern + ")$" : pattern, o);
  if (!re->ok()) {
    return Status::InvalidArgument(what + ": invalid regex \"" + pattern + "\": " + re->error());
  }
  return std::shared_ptr<const re2::RE2>(re);
}

}  // namespace

Result<LabelMatcher> LabelMatcher::Make(std::string name, std::string value, MatchType type) {
  if (!IsValidLabelName(name)) {
    return Status::InvalidArgument("invalid label name \"" + name + "\" in matcher");
  }
  LabelMatcher m;
  m.name_ = std::move(name);
  m.value_ = std::move(value);
  m.type_ = type;
  if (type == MatchType::kRe || type == MatchType::kNre) {
    LOGE_ASSIGN_OR_RETURN(m.re_, CompileRegex(m.value_, true, "matcher " + m.name_));
  }
  return m;
}

bool LabelMatcher::MatchesValue(std::string_view v) const {
  switch (type_) {
    case MatchType::kEq: return v == value_;
    case MatchType::kNeq: return v != value_;
    case MatchType::kRe: return RE2::FullMatch(v, *re_);
    case MatchType::kNre: return !RE2::FullMatch(v, *re_);
  }
  return false;
}

bool LabelMatcher::Matches(const Labels& labels) const {
  for (const auto& [k, v] : labels) {
    if (k == name_) return MatchesValue(v);
  }
  return MatchesValue("");
}

bool LabelMatcher::RequiresLabel() const { return !MatchesValue(""); }

Result<LineFilter> LineFilter::Make(LineFilterType type, std::string needle) {
  LineFilter f;
  f.type_ = type;
  f.needle_ = std::move(needle);
  if (type == LineFilterType::kRegex || type == LineFilterType::kNotRegex) {
    LOGE_ASSIGN_OR_RETURN(f.re_, CompileRegex(f.needle_, false, "line filter"));
  }
  return f;
}

bool LineFilter::Matches(std::string_view line) const {
  switch (type_) {
    case LineFilterType::kContains:
      return needle_.empty() || memmem(line.data(), line.size(), needle_.data(), needle_.size()) != nullptr;
    case LineFilterType::kNotContains:
      return !needle_.empty() && memmem(line.data(), line.size(), needle_.data(), needle_.size()) == nullptr;
    case LineFilterType::kRegex: return RE2::PartialMatch(line, *re_);
    case LineFilterType::kNotRegex: return !RE2::PartialMatch(line, *re_);
  }
  return false;
}

}  // namespace loge::query
