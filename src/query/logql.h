// LogQL as people write it: log queries (a stream selector and a pipeline
// of line filters, parsers, label filters and formatters) and metric
// queries (range and vector aggregations, binary operators, literals,
// vector(), label_replace), parsed with Loki's grammar.
//
//   log query    = selector { stage }
//   selector     = "{" [ matcher { "," matcher } [ "," ] ] "}"
//   matcher      = label_name ( "=" | "!=" | "=~" | "!~" ) string
//   stage        = line_filter | "|" parser | "|" label_filter | "|" line_format
//                | "|" label_format | "|" drop | "|" keep | "|" decolorize
//   line_filter  = ( "|=" | "!=" | "|~" | "!~" | "|>" | "!>" ) ( string | ip(string) ) { "or" string }
//   string       = "…" with Go escapes | `…` raw, may span lines
//
// ParseSelector also takes a bare line filter chain without braces (loge's
// own search box: `|= "panic"`); Loki requires the braces and at least one
// matcher that does not match the empty string (ParseExpr checks that).
//
// Errors: InvalidArgument whose message starts with the 1-based position,
// the column counted in bytes (`1:14: expected string after |=`); with
// ParseOptions::loki_errors the message is Loki's own text instead
// (`parse error at line 1, col 28: syntax error: unexpected )`).
//
// Thread-safety: pure functions; the parsed expressions are immutable and
// may be shared across threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "query/matcher.h"
#include "query/pipeline.h"
#include "query/stages.h"

namespace loge::query {

// A stream selector and what follows it.
struct Selector {
  std::vector<LabelMatcher> matchers;    // all must hold
  // The line filters that may run before every other stage (those before
  // any stage that rewrites the line): checked against stored blocks and
  // rows directly, and used for pruning.
  std::vector<LineFilter> line_filters;
  // Label filter stages of the old, filter-only grammar; always empty from
  // the parser (label filters live in `pipeline`), kept for callers that
  // build queries by hand.
  std::vector<LabelMatcher> entry_filters;
  // Every other stage, in order (empty for a filter-only query).
  std::shared_ptr<const Pipeline> pipeline;
};

struct Grouping {
  bool present = false;  // a by/without clause was written
  bool without = false;
  std::vector<std::string> labels;
  bool Singleton() const { return present ? (!without && labels.empty()) : false; }
};

enum class RangeOp {
  kCount, kRate, kRateCounter, kBytes, kBytesRate, kAvg, kSum, kMin, kMax, kStdvar, kStddev, kQuantile,
  kFirst, kLast, kAbsent,
};
enum class VecOp { kSum, kAvg, kCount, kMax, kMin, kStddev, kStdvar, kBottomK, kTopK, kSort, kSortDesc };
enum class UnwrapConv { kNone, kBytes, kDuration, kDurationSeconds };

struct Unwrap {
  std::string label;
  UnwrapConv conv = UnwrapConv::kNone;
  std::vector<LabelFilterPtr> post_filters;  // `| unwrap x | __error__=""`
};

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct VectorMatching {
  bool on = false;                   // on(...) rather than ignoring(...)
  std::vector<std::string> labels;   // the on/ignoring list
  enum class Card { kOneToOne, kManyToOne, kOneToMany } card = Card::kOneToOne;
  std::vector<std::string> include;  // group_left/right(...) labels
};

// A LogQL expression: one of the kinds below, with the fields it uses.
struct Expr {
  enum class Kind { kLog, kRangeAgg, kVecAgg, kBinOp, kLiteral, kVector, kLabelReplace };
  Kind kind = Kind::kLog;

  // kLog, kRangeAgg: the selector and pipeline.
  Selector selector;
  // kRangeAgg
  RangeOp range_op = RangeOp::kCount;
  int64_t range_ns = 0;
  int64_t offset_ns = 0;
  std::optional<Unwrap> unwrap;
  std::optional<double> param;  // quantile_over_time's φ
  Grouping grouping;            // kRangeAgg, kVecAgg
  // kVecAgg
  VecOp vec_op = VecOp::kSum;
  int64_t k = 0;  // topk/bottomk
  // kVecAgg, kLabelReplace: the operand; kBinOp: lhs, rhs.
  ExprPtr lhs, rhs;
  // kBinOp
  std::string op;  // + - * / % ^ == != > >= < <= and or unless
  bool return_bool = false;
  VectorMatching matching;
  // kLiteral, kVector
  double value = 0;
  // kLabelReplace
  std::string dst, replacement, src, regex;

  // kLog, kRangeAgg: the bytes of the parsed text from the selector's `{`
  // to the end of its pipeline (and unwrap), for FormatQuery.
  size_t src_begin = 0, src_end = 0;

  bool IsLog() const { return kind == Kind::kLog; }
};

// Line filters an expression may hold, each `or` alternative counted
// (`|= "a" or "b" != "c"` is 3), over all its log selectors. Each costs a
// substring or regex search per line scanned, so a 100,000-alternative query
// costs 100,000 searches a line; 512 is far past any hand-written query
// and keeps a line's cost to microseconds. Beyond it: InvalidArgument (400)
// naming the limit (docs/reliability.md).
inline constexpr size_t kMaxLineFilters = 512;

struct ParseOptions {
  bool loki_errors = false;  // Loki's error text instead of loge's
  // Require a matcher that does not match "" (Loki's rule; loge's own
  // search box may select every stream with `{}`).
  bool require_matcher = false;
};

// Parses a log query (loge's API and CLI): `{…} |= "x" | json | status >= 500`.
Result<Selector> ParseSelector(std::string_view input);
// Parses any LogQL expression, log or metric.
Result<ExprPtr> ParseExpr(std::string_view input, const ParseOptions& opts = {});

// The {line, col} at the start of a loge-style error message ("1:14: …"),
// for drawing a caret under the input; {0, 0} when the message has none.
std::pair<int, int> ErrorPosition(const Status& st);

// A query written the way Loki's format_query writes it (its expressions'
// String(): `sum by (env)(rate({app="api"}[5m]))`, binary operations in
// parentheses), on one line. InvalidArgument with Loki's parse error.
// logql_format.cc.
Result<std::string> FormatQuery(std::string_view input);

// Prometheus' duration syntax (`1h30m`, `5m`, `2d`): ns, or Prometheus'
// error text.
Result<int64_t> ParsePromDuration(std::string_view s);
// Go's strconv.Quote, for messages in Loki's wording.
std::string GoQuote(std::string_view s);

const char* RangeOpName(RangeOp op);
const char* VecOpName(VecOp op);

}  // namespace loge::query
