// Metric expressions: range and vector aggregations, binary operators,
// literals, vector() and label_replace (see logql_parser.h).
#include <cmath>

#include "query/logql_parser.h"

namespace loge::query {

namespace {

constexpr std::pair<const char*, RangeOp> kRangeOps[] = {
    {"count_over_time", RangeOp::kCount},     {"rate", RangeOp::kRate},
    {"rate_counter", RangeOp::kRateCounter},  {"bytes_over_time", RangeOp::kBytes},
    {"bytes_rate", RangeOp::kBytesRate},      {"avg_over_time", RangeOp::kAvg},
    {"sum_over_time", RangeOp::kSum},         {"min_over_time", RangeOp::kMin},
    {"max_over_time", RangeOp::kMax},         {"stdvar_over_time", RangeOp::kStdvar},
    {"stddev_over_time", RangeOp::kStddev},   {"quantile_over_time", RangeOp::kQuantile},
    {"first_over_time", RangeOp::kFirst},     {"last_over_time", RangeOp::kLast},
    {"absent_over_time", RangeOp::kAbsent},
};
constexpr std::pair<const char*, VecOp> kVecOps[] = {
    {"sum", VecOp::kSum},       {"avg", VecOp::kAvg},     {"count", VecOp::kCount},     {"max", VecOp::kMax},
    {"min", VecOp::kMin},       {"stddev", VecOp::kStddev}, {"stdvar", VecOp::kStdvar}, {"bottomk", VecOp::kBottomK},
    {"topk", VecOp::kTopK},     {"sort", VecOp::kSort},   {"sort_desc", VecOp::kSortDesc},
};

// Binary operator precedence (higher binds tighter), Prometheus' levels.
int Precedence(const Token& t) {
  switch (t.kind) {
    case Tok::kKeyword:
      if (t.value == "or") return 1;
      if (t.value == "and" || t.value == "unless") return 2;
      return 0;
    case Tok::kCmpEq:
    case Tok::kNeq:
    case Tok::kGt:
    case Tok::kGte:
    case Tok::kLt:
    case Tok::kLte: return 3;
    case Tok::kAdd:
    case Tok::kSub: return 4;
    case Tok::kMul:
    case Tok::kDiv:
    case Tok::kMod: return 5;
    case Tok::kPow: return 6;
    default: return 0;
  }
}

bool IsComparison(const std::string& op) {
  return op == "==" || op == "!=" || op == ">" || op == ">=" || op == "<" || op == "<=";
}
bool IsSetOp(const std::string& op) { return op == "and" || op == "or" || op == "unless"; }

double Fold(const std::string& op, double l, double r) {
  if (op == "+") return l + r;
  if (op == "-") return l - r;
  if (op == "*") return l * r;
  if (op == "/") return r == 0 ? std::nan("") : l / r;
  if (op == "%") return r == 0 ? std::nan("") : std::fmod(l, r);
  if (op == "^") return std::pow(l, r);
  if (op == "==") return l == r;
  if (op == "!=") return l != r;
  if (op == ">") return l > r;
  if (op == ">=") return l >= r;
  if (op == "<") return l < r;
  return l <= r;
}

}  // namespace

const char* RangeOpName(RangeOp op) {
  for (const auto& [n, o] : kRangeOps) {
    if (o == op) return n;
  }
  return "?";
}

const char* VecOpName(VecOp op) {
  for (const auto& [n, o] : kVecOps) {
    if (o == op) return n;
  }
  return "?";
}

Result<ExprPtr> Parser::ParseQuery() {
  LOGE_RETURN_IF_ERROR(Advance());
  if (tok_.kind == Tok::kEof) {
    // Loki reports an empty query without a position.
    return Fail(0, "empty query", "syntax error: unexpected $end", false);
  }
  LOGE_ASSIGN_OR_RETURN(ExprPtr e, ParseBinary(1));
  if (tok_.kind != Tok::kEof) return Unexpected();
  LOGE_RETURN_IF_ERROR(Validate(*e));
  return e;
}

// Loki's checks after parsing: every selector needs a matcher that does not
// match the empty string; sort takes no grouping.
Status Parser::Validate(const Expr& e) const {
  if (e.kind == Expr::Kind::kLog || e.kind == Expr::Kind::kRangeAgg) {
    if (!opts_.require_matcher) return Status::OK();
    for (const auto& m : e.selector.matchers) {
      if (!m.MatchesValue("")) return Status::OK();
    }
    const std::string msg =
        "queries require at least one regexp or equality matcher that does not have an empty-compatible value. "
        "For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";
    return Fail(0, msg, msg, false);
  }
  if (e.kind == Expr::Kind::kVecAgg && (e.vec_op == VecOp::kSort || e.vec_op == VecOp::kSortDesc) &&
      !e.grouping.labels.empty()) {
    return Fail(0, "sort and sort_desc doesn't allow grouping by ", "sort and sort_desc doesn't allow grouping by ", false);
  }
  if (e.lhs) LOGE_RETURN_IF_ERROR(Validate(*e.lhs));
  if (e.rhs) LOGE_RETURN_IF_ERROR(Validate(*e.rhs));
  return Status::OK();
}

Result<ExprPtr> Parser::ParseBinary(int min_prec) {
  LOGE_ASSIGN_OR_RETURN(ExprPtr lhs, ParseUnary());
  for (;;) {
    int prec = Precedence(tok_);
    if (prec == 0 || prec < min_prec) return lhs;
    Token op_tok = tok_;
    std::string op = op_tok.kind == Tok::kKeyword ? op_tok.value : std::string(lex_.Raw(op_tok));
    LOGE_RETURN_IF_ERROR(Advance());
    bool ret_bool = false;
    VectorMatching m;
    if (tok_.kind == Tok::kKeyword && tok_.value == "bool") {
      ret_bool = true;
      LOGE_RETURN_IF_ERROR(Advance());
    }
    if (tok_.kind == Tok::kKeyword && (tok_.value == "on" || tok_.value == "ignoring")) {
      m.on = tok_.value == "on";
      LOGE_RETURN_IF_ERROR(Advance());
      LOGE_RETURN_IF_ERROR(ParseLabelList(&m.labels));
      if (tok_.kind == Tok::kKeyword && (tok_.value == "group_left" || tok_.value == "group_right")) {
        m.card = tok_.value == "group_left" ? VectorMatching::Card::kManyToOne : VectorMatching::Card::kOneToMany;
        LOGE_RETURN_IF_ERROR(Advance());
        if (tok_.kind == Tok::kLParen) LOGE_RETURN_IF_ERROR(ParseLabelList(&m.include));
      }
    }
    // ^ is right-associative; the others are left-associative.
    LOGE_ASSIGN_OR_RETURN(ExprPtr rhs, ParseBinary(op == "^" ? prec : prec + 1));
    LOGE_ASSIGN_OR_RETURN(lhs, MakeBinOp(op_tok, op, ret_bool, std::move(m), std::move(lhs), std::move(rhs)));
  }
}

Result<ExprPtr> Parser::MakeBinOp(const Token& op_tok, const std::string& op, bool ret_bool, VectorMatching m,
                                  ExprPtr lhs, ExprPtr rhs) {
  auto fail = [&](const std::string& msg) { return Fail(op_tok.pos, msg, msg, false); };
  if (lhs->IsLog()) return fail("unexpected type for left leg of binary operation (" + op + "): *syntax.MatchersExpr");
  if (rhs->IsLog()) return fail("unexpected type for right leg of binary operation (" + op + "): *syntax.MatchersExpr");
  bool llit = lhs->kind == Expr::Kind::kLiteral, rlit = rhs->kind == Expr::Kind::kLiteral;
  if (IsSetOp(op)) {
    char buf[64];
    if (llit) {
      std::snprintf(buf, sizeof buf, "%f", lhs->value);
      return fail("unexpected literal for left leg of logical/set binary operation (" + op + "): " + buf);
    }
    if (rlit) {
      std::snprintf(buf, sizeof buf, "%f", rhs->value);
      return fail("unexpected literal for right leg of logical/set binary operation (" + op + "): " + buf);
    }
  }
  auto e = std::make_shared<Expr>();
  if (llit && rlit) {
    if (IsComparison(op) && !ret_bool) {
      return fail("comparison operations between scalars must use BOOL modifier");
    }
    e->kind = Expr::Kind::kLiteral;
    e->value = Fold(op, lhs->value, rhs->value);
    return ExprPtr(e);
  }
  e->kind = Expr::Kind::kBinOp;
  e->op = op;
  e->return_bool = ret_bool;
  e->matching = std::move(m);
  e->lhs = std::move(lhs);
  e->rhs = std::move(rhs);
  return ExprPtr(e);
}

Result<ExprPtr> Parser::ParseUnary() {
  switch (tok_.kind) {
    case Tok::kNumber:
    case Tok::kAdd:
    case Tok::kSub: {
      double sign = 1;
      if (tok_.kind != Tok::kNumber) {
        sign = tok_.kind == Tok::kSub ? -1 : 1;
        LOGE_RETURN_IF_ERROR(Advance());
        if (tok_.kind != Tok::kNumber) return Unexpected("", "NUMBER");
      }
      auto e = std::make_shared<Expr>();
      e->kind = Expr::Kind::kLiteral;
      e->value = sign * tok_.number;
      LOGE_RETURN_IF_ERROR(Advance());
      return ExprPtr(e);
    }
    case Tok::kLParen: {
      LOGE_RETURN_IF_ERROR(Advance());
      LOGE_ASSIGN_OR_RETURN(ExprPtr inner, ParseBinary(1));
      if (tok_.kind != Tok::kRParen) return Unexpected("expected ), found " + lex_.Describe(tok_));
      LOGE_RETURN_IF_ERROR(Advance());
      return inner;
    }
    case Tok::kLBrace: return ParseLogExpr();
    case Tok::kFunc: {
      const std::string f = tok_.value;
      for (const auto& [n, o] : kRangeOps) {
        if (f == n) return ParseRangeAgg();
      }
      for (const auto& [n, o] : kVecOps) {
        if (f == n) return ParseVecAgg();
      }
      if (f == "vector") {
        LOGE_RETURN_IF_ERROR(Advance());
        if (tok_.kind != Tok::kLParen) return Unexpected("", "(");
        LOGE_RETURN_IF_ERROR(Advance());
        if (tok_.kind != Tok::kNumber) return Unexpected("", "NUMBER");
        auto e = std::make_shared<Expr>();
        e->kind = Expr::Kind::kVector;
        e->value = tok_.number;
        LOGE_RETURN_IF_ERROR(Advance());
        if (tok_.kind != Tok::kRParen) return Unexpected("", ")");
        LOGE_RETURN_IF_ERROR(Advance());
        return ExprPtr(e);
      }
      if (f == "label_replace") {
        LOGE_RETURN_IF_ERROR(Advance());
        if (tok_.kind != Tok::kLParen) return Unexpected("", "(");
        LOGE_RETURN_IF_ERROR(Advance());
        auto e = std::make_shared<Expr>();
        e->kind = Expr::Kind::kLabelReplace;
        LOGE_ASSIGN_OR_RETURN(e->lhs, ParseBinary(1));
        std::string* parts[] = {&e->dst, &e->replacement, &e->src, &e->regex};
        for (std::string* p : parts) {
          if (tok_.kind != Tok::kComma) return Unexpected("", ",");
          LOGE_RETURN_IF_ERROR(Advance());
          if (tok_.kind != Tok::kString) return Unexpected("", "STRING");
          *p = tok_.value;
          LOGE_RETURN_IF_ERROR(Advance());
        }
        if (tok_.kind != Tok::kRParen) return Unexpected("", ")");
        LOGE_RETURN_IF_ERROR(Advance());
        if (!IsValidLabelName(e->dst)) {
          return Fail(0, "invalid destination label name in label_replace(): " + e->dst,
                      "invalid destination label name in label_replace(): " + e->dst, false);
        }
        return ExprPtr(e);
      }
      return Unexpected();
    }
    default: return Unexpected();
  }
}

Result<ExprPtr> Parser::ParseLogExpr() {
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::kLog;
  e->src_begin = tok_.pos;
  LOGE_RETURN_IF_ERROR(ParseMatchers(&e->selector.matchers));
  std::vector<StagePtr> stages;
  std::vector<std::string> texts;
  LOGE_RETURN_IF_ERROR(ParsePipeline(&stages, &texts, false));
  e->src_end = prev_end_;
  Hoist(std::move(stages), &e->selector);
  return ExprPtr(e);
}

Status Parser::ParseLabelList(std::vector<std::string>* out) {
  if (tok_.kind != Tok::kLParen) return Unexpected("expected ( and a list of label names, found " + lex_.Describe(tok_), "(");
  LOGE_RETURN_IF_ERROR(Advance());
  if (tok_.kind == Tok::kRParen) return Advance();
  for (;;) {
    if (!IsName()) return Unexpected("expected a label name, found " + lex_.Describe(tok_));
    out->push_back(tok_.kind == Tok::kIdent ? tok_.value : std::string(lex_.Raw(tok_)));
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind == Tok::kRParen) return Advance();
    if (tok_.kind != Tok::kComma) return Unexpected("expected , or ) in a label list, found " + lex_.Describe(tok_));
    LOGE_RETURN_IF_ERROR(Advance());
  }
}

Status Parser::ParseGrouping(Grouping* g) {
  if (tok_.kind != Tok::kKeyword || (tok_.value != "by" && tok_.value != "without")) return Status::OK();
  g->present = true;
  g->without = tok_.value == "without";
  LOGE_RETURN_IF_ERROR(Advance());
  return ParseLabelList(&g->labels);
}

Result<ExprPtr> Parser::ParseVecAgg() {
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::kVecAgg;
  for (const auto& [n, o] : kVecOps) {
    if (tok_.value == n) e->vec_op = o;
  }
  const std::string name = tok_.value;
  LOGE_RETURN_IF_ERROR(Advance());
  LOGE_RETURN_IF_ERROR(ParseGrouping(&e->grouping));
  if (tok_.kind != Tok::kLParen) return Unexpected("", "(");
  LOGE_RETURN_IF_ERROR(Advance());
  std::optional<std::string> param;
  if (tok_.kind == Tok::kNumber) {
    // `topk(3, …)`: a number then a comma is the parameter.
    Lexer peek = lex_;
    auto next = peek.Next();
    if (next.ok() && next->kind == Tok::kComma) {
      param = tok_.value;
      LOGE_RETURN_IF_ERROR(Advance());
      LOGE_RETURN_IF_ERROR(Advance());
    }
  }
  LOGE_ASSIGN_OR_RETURN(e->lhs, ParseBinary(1));
  if (tok_.kind != Tok::kRParen) return Unexpected("expected ) to close " + name + "(, found " + lex_.Describe(tok_));
  LOGE_RETURN_IF_ERROR(Advance());
  if (!e->grouping.present) LOGE_RETURN_IF_ERROR(ParseGrouping(&e->grouping));
  if (e->lhs->IsLog()) {
    // `sum({app="x"})`: Loki's parser expects a metric expression there.
    return Fail(prev_end_ - 1, "a vector aggregation needs a metric expression, not a log query",
                "syntax error: unexpected )", true);
  }
  if (e->vec_op == VecOp::kTopK || e->vec_op == VecOp::kBottomK) {
    std::string msg;
    if (!param) {
      msg = "parameter required for operation " + name;
    } else {
      char* end = nullptr;
      long long k = std::strtoll(param->c_str(), &end, 10);
      if (end != param->c_str() + param->size()) {
        msg = "invalid parameter " + name + "(" + *param + ",";
      } else if (k <= 0) {
        msg = "invalid parameter (must be greater than 0) " + name + "(" + *param;
      } else {
        e->k = k;
      }
    }
    if (!msg.empty()) return Fail(0, msg, msg, false);
  } else if (param) {
    std::string msg = "unsupported parameter for operation " + name + "(" + *param + ",";
    return Fail(0, msg, msg, false);
  }
  return ExprPtr(e);
}

Status Parser::ParseUnwrap(Unwrap* u) {
  // At `|`, with `unwrap` next.
  LOGE_RETURN_IF_ERROR(Advance());
  LOGE_RETURN_IF_ERROR(Advance());
  if (tok_.kind == Tok::kFunc && (tok_.value == "bytes" || tok_.value == "duration" || tok_.value == "duration_seconds")) {
    u->conv = tok_.value == "bytes" ? UnwrapConv::kBytes
              : tok_.value == "duration" ? UnwrapConv::kDuration
                                         : UnwrapConv::kDurationSeconds;
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind != Tok::kLParen) return Unexpected("", "(");
    LOGE_RETURN_IF_ERROR(Advance());
    if (!IsName()) return Unexpected("expected a label name to unwrap, found " + lex_.Describe(tok_), "IDENTIFIER");
    u->label = tok_.value;
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind != Tok::kRParen) return Unexpected("", ")");
    LOGE_RETURN_IF_ERROR(Advance());
  } else {
    if (!IsName()) return Unexpected("expected a label name to unwrap, found " + lex_.Describe(tok_), "IDENTIFIER");
    u->label = tok_.value;
    LOGE_RETURN_IF_ERROR(Advance());
  }
  // Label filters after unwrap (`| __error__=""`).
  while (tok_.kind == Tok::kPipe) {
    LOGE_RETURN_IF_ERROR(Advance());
    LOGE_ASSIGN_OR_RETURN(LabelFilterPtr f, ParseLabelFilterExpr());
    u->post_filters.push_back(std::move(f));
  }
  return Status::OK();
}

// Inside `op(`: the log range, in any of the orders Loki's grammar allows.
Result<ExprPtr> Parser::ParseLogRange(Expr* agg) {
  bool parens = false;
  if (tok_.kind == Tok::kLParen) {
    parens = true;
    LOGE_RETURN_IF_ERROR(Advance());
  }
  if (tok_.kind != Tok::kLBrace) return Unexpected("expected a stream selector {…}, found " + lex_.Describe(tok_));
  agg->src_begin = tok_.pos;
  LOGE_RETURN_IF_ERROR(ParseMatchers(&agg->selector.matchers));
  std::vector<StagePtr> stages;
  std::vector<std::string> texts;
  bool have_range = false;
  auto take_range = [&]() -> Status {
    agg->range_ns = tok_.dur;
    have_range = true;
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind == Tok::kKeyword && tok_.value == "offset") {
      LOGE_RETURN_IF_ERROR(Advance());
      if (tok_.kind != Tok::kDuration) return Unexpected("expected a duration after offset", "DURATION");
      agg->offset_ns = tok_.dur;
      LOGE_RETURN_IF_ERROR(Advance());
    }
    return Status::OK();
  };
  if (tok_.kind == Tok::kRange && !parens) LOGE_RETURN_IF_ERROR(take_range());
  LOGE_RETURN_IF_ERROR(ParsePipeline(&stages, &texts, true));
  if (tok_.kind == Tok::kPipe) {
    Unwrap u;
    LOGE_RETURN_IF_ERROR(ParseUnwrap(&u));
    agg->unwrap = std::move(u);
  }
  agg->src_end = prev_end_;
  if (parens) {
    if (tok_.kind != Tok::kRParen) return Unexpected();
    LOGE_RETURN_IF_ERROR(Advance());
  }
  if (!have_range) {
    if (tok_.kind != Tok::kRange) return Unexpected("expected a range [5m] after the log query, found " + lex_.Describe(tok_));
    LOGE_RETURN_IF_ERROR(take_range());
  }
  Hoist(std::move(stages), &agg->selector);
  return ExprPtr();
}

Result<ExprPtr> Parser::ParseRangeAgg() {
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::kRangeAgg;
  for (const auto& [n, o] : kRangeOps) {
    if (tok_.value == n) e->range_op = o;
  }
  const std::string name = tok_.value;
  LOGE_RETURN_IF_ERROR(Advance());
  if (tok_.kind != Tok::kLParen) return Unexpected("", "(");
  LOGE_RETURN_IF_ERROR(Advance());
  std::optional<std::string> param;
  if (tok_.kind == Tok::kNumber) {
    param = tok_.value;
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind != Tok::kComma) return Unexpected("", ",");
    LOGE_RETURN_IF_ERROR(Advance());
  }
  LOGE_RETURN_IF_ERROR(ParseLogRange(e.get()).status());
  if (tok_.kind != Tok::kRParen) return Unexpected("expected ) to close " + name + "(, found " + lex_.Describe(tok_));
  LOGE_RETURN_IF_ERROR(Advance());
  LOGE_RETURN_IF_ERROR(ParseGrouping(&e->grouping));
  auto fail = [&](const std::string& msg) { return Fail(0, msg, msg, false); };
  if (param) {
    if (e->range_op != RangeOp::kQuantile) return fail("parameter " + *param + " not supported for operation " + name);
    e->param = std::strtod(param->c_str(), nullptr);
  } else if (e->range_op == RangeOp::kQuantile) {
    return fail("parameter required for operation " + name);
  }
  const RangeOp op = e->range_op;
  if (e->grouping.present) {
    switch (op) {
      case RangeOp::kAvg: case RangeOp::kStddev: case RangeOp::kStdvar: case RangeOp::kQuantile:
      case RangeOp::kMax: case RangeOp::kMin: case RangeOp::kFirst: case RangeOp::kLast: break;
      default: return fail("grouping not allowed for " + name + " aggregation");
    }
  }
  bool unwrap_ok = op != RangeOp::kCount && op != RangeOp::kBytes && op != RangeOp::kBytesRate;
  bool needs_unwrap = op != RangeOp::kCount && op != RangeOp::kBytes && op != RangeOp::kBytesRate &&
                      op != RangeOp::kRate && op != RangeOp::kAbsent;
  if (e->unwrap && !unwrap_ok) return fail("invalid aggregation " + name + " with unwrap");
  if (!e->unwrap && needs_unwrap) return fail("invalid aggregation " + name + " without unwrap");
  return ExprPtr(e);
}

}  // namespace loge::query
