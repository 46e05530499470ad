#include "query/matcher.h"

#include <re2/re2.h>

#include <cstring>

#include "core/find.h"

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
    // Report the error against the user's text, not the ^(?:…)$ wrapping.
    std::string error = re->error();
    if (anchored) {
      re2::RE2 bare(pattern, o);
      if (!bare.ok()) error = bare.error();
    }
    return Status::InvalidArgument(what + ": invalid regex \"" + pattern + "\": " + error);
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
  std::vector<std::string> needles;
  needles.push_back(std::move(needle));
  return Make(type, std::move(needles));
}

Result<LineFilter> LineFilter::Make(LineFilterType type, std::vector<std::string> needles) {
  if (needles.empty()) return Status::InvalidArgument("line filter: no needle");
  LineFilter f;
  f.type_ = type;
  f.needles_ = std::move(needles);
  if (type == LineFilterType::kRegex || type == LineFilterType::kNotRegex) {
    for (const auto& n : f.needles_) {
      LOGE_ASSIGN_OR_RETURN(auto re, CompileRegex(n, false, "line filter"));
      f.res_.push_back(std::move(re));
    }
  }
  return f;
}

bool LineFilter::ContainsAny(std::string_view line) const {
  for (const auto& n : needles_) {
    if (ContainsSubstring(line, n)) return true;
  }
  return false;
}

bool LineFilter::RegexMatchesAny(std::string_view line) const {
  for (const auto& re : res_) {
    if (RE2::PartialMatch(line, *re)) return true;
  }
  return false;
}

bool LineFilter::Matches(std::string_view line) const {
  switch (type_) {
    case LineFilterType::kContains: return ContainsAny(line);
    case LineFilterType::kNotContains: return !ContainsAny(line);
    case LineFilterType::kRegex: return RegexMatchesAny(line);
    case LineFilterType::kNotRegex: return !RegexMatchesAny(line);
  }
  return false;
}

}  // namespace loge::query
