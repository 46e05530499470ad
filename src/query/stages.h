// The pipeline stages the LogQL parser builds (see pipeline.h): one factory
// per stage kind. Construction errors are InvalidArgument with Loki's wording
// (the parser adds the position).
//
// Thread-safety: stages are immutable; share them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "query/matcher.h"
#include "query/pipeline.h"

namespace loge::query {

// ---- line filters (label_filter.cc)

// What a plain line filter stage exposes, so the parser can move leading
// line filters in front of the pipeline (checked on stored blocks).
class LineFilterHolder {
 public:
  virtual ~LineFilterHolder() = default;
  virtual const LineFilter& filter() const = 0;
};

// A line filter (`|= "a" or "b"`, `!~ "re"`) as a stage.
StagePtr MakeLineFilterStage(LineFilter f);
// `|= ip("10.0.0.0/8")` / `!= ip(...)`: the line contains (or not) an
// address inside the range.
Result<StagePtr> MakeIpLineFilter(bool negate, const std::string& pattern);
// `|> "<_> error <_>"` / `!> ...`: the line matches (or not) the pattern.
Result<StagePtr> MakePatternLineFilter(bool negate, std::vector<std::string> patterns);

// ---- label filters (label_filter.cc)

enum class CmpOp { kEq, kNeq, kGt, kGte, kLt, kLte };

// A label filter expression: leaves combined with and/or.
class LabelFilter {
 public:
  virtual ~LabelFilter() = default;
  virtual bool Process(LabelsBuilder* lb) const = 0;
  virtual void RequiredLabels(std::vector<std::string>* out) const = 0;
};
using LabelFilterPtr = std::shared_ptr<const LabelFilter>;

LabelFilterPtr MakeStringLabelFilter(LabelMatcher m);
LabelFilterPtr MakeNumberLabelFilter(std::string name, CmpOp op, double value);
LabelFilterPtr MakeDurationLabelFilter(std::string name, CmpOp op, int64_t ns);
LabelFilterPtr MakeBytesLabelFilter(std::string name, CmpOp op, uint64_t bytes);
Result<LabelFilterPtr> MakeIpLabelFilter(std::string name, bool negate, const std::string& pattern);
LabelFilterPtr MakeAndLabelFilter(LabelFilterPtr a, LabelFilterPtr b);
LabelFilterPtr MakeOrLabelFilter(LabelFilterPtr a, LabelFilterPtr b);
StagePtr MakeLabelFilterStage(LabelFilterPtr f);

// ---- parsers (parse_json.cc, parse_logfmt.cc, parse_text.cc)

StagePtr MakeJsonParser();
// Each label a `| json` added, with the object keys leading to it from the
// root as written in the line (Loki's detected fields `jsonPath`).
using JsonPaths = std::vector<std::pair<std::string, std::vector<std::string>>>;
// Runs `| json` on one line (everything extracted, lb's hints ignored) and
// records every label's path in *paths; a failure sets __error__ as the
// stage does.
void ParseJsonWithPaths(std::string_view line, LabelsBuilder* lb, JsonPaths* paths);
// `| json a="x.y[0]", b`: each (label, JSON path) pair. InvalidArgument on a
// bad path.
Result<StagePtr> MakeJsonExtractParser(std::vector<std::pair<std::string, std::string>> exprs);
StagePtr MakeLogfmtParser(bool strict, bool keep_empty);
Result<StagePtr> MakeLogfmtExtractParser(std::vector<std::pair<std::string, std::string>> exprs, bool strict,
                                         bool keep_empty);
Result<StagePtr> MakeRegexpParser(const std::string& re);
Result<StagePtr> MakePatternParser(const std::string& pattern);
StagePtr MakeUnpackParser();

// ---- formatting and label sets (format_stages.cc)

// `| line_format "{{...}}"`: InvalidArgument names an unknown function.
Result<StagePtr> MakeLineFormat(const std::string& tmpl);
// One `dst=src` (rename) or `dst="{{...}}"` (template) of a label_format.
struct LabelFormatItem {
  std::string dst;
  std::string src_or_template;
  bool rename = false;
};
Result<StagePtr> MakeLabelFormat(std::vector<LabelFormatItem> items);
// `| drop a, b="v"` / `| keep a, b`: a bare name, or a matcher on a value.
struct NamedMatcher {
  std::string name;
  std::optional<LabelMatcher> matcher;
};
StagePtr MakeDrop(std::vector<NamedMatcher> items);
StagePtr MakeKeep(std::vector<NamedMatcher> items);
StagePtr MakeDecolorize();

// ---- helpers shared with the ip() filters

// True when `s` contains an IPv4/IPv6 address inside the range `net`.
class IpMatcher {
 public:
  // "10.0.0.0/8", "10.0.0.1-10.0.0.9", "192.168.1.1", "::1/128".
  static Result<IpMatcher> Make(const std::string& pattern);
  bool MatchesAddress(std::string_view addr) const;  // the whole string is an address
  bool ContainsMatch(std::string_view line) const;   // some address in the line
 private:
  bool v6_ = false;
  unsigned char lo_[16] = {};
  unsigned char hi_[16] = {};
};

}  // namespace loge::query
