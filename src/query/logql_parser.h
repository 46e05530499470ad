// The LogQL parser's internals (logql.cc: selectors and pipelines;
// logql_metric.cc: metric expressions). Recursive descent over Loki's
// grammar (pkg/logql/syntax/syntax.y), one token of lookahead.
#pragma once

#include <string>
#include <vector>

#include "query/logql.h"
#include "query/logql_lexer.h"

namespace loge::query {

class Parser {
 public:
  Parser(std::string_view in, const ParseOptions& opts) : lex_(in), opts_(opts) {}

  // A whole query.
  Result<ExprPtr> ParseQuery();
  // loge's search box: a selector, or a bare line filter chain.
  Result<Selector> ParseSelectorOnly();

 private:
  friend class MetricParser;
  Status Advance();

  // ---- errors
  // "syntax error: unexpected X[, expecting Y]" at the current token (Loki),
  // or loge's `what` (when given) at the current token.
  Status Unexpected(const std::string& loge_what = "", const std::string& expecting = "") const;
  // An error at `pos` with loge's text `loge_msg` or Loki's `loki_msg`
  // (positioned like a yacc error when `loki_positioned`, else "parse error : ").
  Status Fail(size_t pos, const std::string& loge_msg, const std::string& loki_msg, bool loki_positioned) const;
  Status ExpectedString(const std::string& after) const;

  // ---- selectors and pipelines (logql.cc)
  Status ParseMatchers(std::vector<LabelMatcher>* out);
  // Stages until a token that cannot continue a pipeline; `allow_unwrap`:
  // stop at `| unwrap` (inside a range aggregation) instead of failing.
  Status ParsePipeline(std::vector<StagePtr>* stages, std::vector<std::string>* texts, bool in_range);
  Status ParseLineFilter(std::vector<StagePtr>* stages, std::vector<std::string>* texts);
  Status ParseStage(std::vector<StagePtr>* stages, std::vector<std::string>* texts);
  Result<LabelFilterPtr> ParseLabelFilterExpr();
  Result<LabelFilterPtr> ParseLabelFilterTerm();
  Result<LabelFilterPtr> ParseLabelFilterLeaf();
  Result<std::vector<std::pair<std::string, std::string>>> ParseExtractionList();
  Result<std::vector<NamedMatcher>> ParseNamedMatchers();
  // Splits stages into the leading line filters and the rest.
  static void Hoist(std::vector<StagePtr> stages, Selector* sel);
  bool AtPipelineStart() const;
  // A label name token (an identifier, or a keyword used as a name).
  bool IsName() const;

  // ---- metric expressions (logql_metric.cc)
  Result<ExprPtr> ParseBinary(int min_prec);
  Result<ExprPtr> ParseUnary();
  Result<ExprPtr> ParseRangeAgg();
  Result<ExprPtr> ParseVecAgg();
  Result<ExprPtr> ParseLogRange(Expr* agg);
  Result<ExprPtr> ParseLogExpr();
  Status ParseUnwrap(Unwrap* u);
  Status ParseGrouping(Grouping* g);
  Status ParseLabelList(std::vector<std::string>* out);
  Result<ExprPtr> MakeBinOp(const Token& op_tok, const std::string& op, bool ret_bool, VectorMatching m,
                            ExprPtr lhs, ExprPtr rhs);
  Status Validate(const Expr& e) const;

  Lexer lex_;
  ParseOptions opts_;
  Token tok_;
  // Line filters and `or` alternatives read so far (kMaxLineFilters).
  size_t line_filters_ = 0;
  size_t prev_end_ = 0;  // end of the previous token
};

// Stage text for Loki's "stage '<text>' : <error>" messages.
std::string StageText(std::string_view op, std::string_view arg);

}  // namespace loge::query
