// FormatQuery: LogQL written back the way Loki's expressions print
// themselves (pkg/logql/syntax String()), for /loki/api/v1/format_query.
//
// Metric expressions print from the parsed tree: `op by (a,b)(args)`,
// `fn(param,<log range>) by (a)`, `(lhs op rhs)`. The log part (selector,
// pipeline, unwrap) has stages that keep no text, so it is re-read from
// the query's tokens between Expr::src_begin and src_end and written with
// Loki's spacing: `{a="b", c=~"d"} |= "x" | json a="b",c="d" | status>=500`.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "query/logql.h"
#include "query/logql_lexer.h"

namespace loge::query {

namespace {

// Prometheus' model.Duration.String(): 1h30m, 90d, 500ms; years and weeks
// only when they divide evenly.
std::string PromDuration(int64_t ns) {
  int64_t ms = ns / 1'000'000;
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  struct Unit {
    const char* name;
    int64_t ms;
    bool exact;
  };
  constexpr int64_t kDay = 24LL * 3600 * 1000;
  for (const Unit& u : {Unit{"y", 365 * kDay, true}, Unit{"w", 7 * kDay, true}, Unit{"d", kDay, false},
                        Unit{"h", 3600'000, false}, Unit{"m", 60'000, false}, Unit{"s", 1000, false},
                        Unit{"ms", 1, false}}) {
    if (u.exact && ms % u.ms != 0) continue;
    if (int64_t v = ms / u.ms; v > 0) {
      out += std::to_string(v) + u.name;
      ms -= v * u.ms;
    }
  }
  return out;
}

// Go's %v of a float64: the shortest text that reads back, exponent for
// very large or small magnitudes.
std::string GoFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  for (int prec = 1; prec <= 17; prec++) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

bool IsComparison(Tok k) {
  switch (k) {
    case Tok::kEq: case Tok::kNeq: case Tok::kRe: case Tok::kNre: case Tok::kCmpEq:
    case Tok::kGt: case Tok::kGte: case Tok::kLt: case Tok::kLte:
      return true;
    default:
      return false;
  }
}

bool IsLineFilterOp(Tok k) {
  return k == Tok::kPipeExact || k == Tok::kPipeMatch || k == Tok::kPipePattern || k == Tok::kNeq ||
         k == Tok::kNre || k == Tok::kNpa;
}

// A token as Loki prints it: strings re-quoted, the rest as written.
std::string TokenText(const Lexer& lex, const Token& t) {
  if (t.kind == Tok::kString) return GoQuote(t.value);
  if (t.kind == Tok::kKeyword || t.kind == Tok::kFunc) return t.value;
  return std::string(lex.Raw(t));
}

// The log part of an expression, re-spaced; the range and its offset (which
// may sit right after the selector) are left out: the caller prints them.
Result<std::string> FormatLogSpan(std::string_view input, const Expr& e) {
  Lexer lex(input.substr(e.src_begin, e.src_end - e.src_begin));
  std::vector<Token> toks;
  for (;;) {
    LOGE_ASSIGN_OR_RETURN(Token t, lex.Next());
    if (t.kind == Tok::kEof) break;
    toks.push_back(std::move(t));
  }
  std::string out;
  size_t i = 0;
  // The selector: {name op "value", ...}
  for (; i < toks.size(); i++) {
    const Token& t = toks[i];
    if (t.kind == Tok::kRBrace) {
      out += "}";
      i++;
      break;
    }
    if (t.kind == Tok::kComma) {
      out += ", ";
    } else {
      out += TokenText(lex, t);
    }
  }
  // The stages.
  const Token* prev = nullptr;
  bool prev_comparison = false;
  for (; i < toks.size(); i++) {
    const Token& t = toks[i];
    if (t.kind == Tok::kRange) continue;
    if (t.kind == Tok::kKeyword && t.value == "offset") {
      i++;  // and its duration
      continue;
    }
    const bool comparison = IsComparison(t.kind) && prev != nullptr &&
                            (prev->kind == Tok::kIdent || prev->kind == Tok::kKeyword);
    const bool stage_start = t.kind == Tok::kPipe || (IsLineFilterOp(t.kind) && !comparison);
    const bool tight = !stage_start && prev != nullptr &&
                       (t.kind == Tok::kComma || t.kind == Tok::kRParen || comparison || prev_comparison ||
                        prev->kind == Tok::kLParen || prev->kind == Tok::kFunc || prev->kind == Tok::kComma);
    if (!tight) out += ' ';
    out += TokenText(lex, t);
    prev_comparison = comparison;
    prev = &t;
  }
  return out;
}

std::string GroupingText(const Grouping& g) {
  std::string out;
  if (g.without) {
    out = " without ";
  } else if (!g.labels.empty()) {
    out = " by ";
  }
  if (!g.labels.empty()) {
    out += "(";
    for (size_t i = 0; i < g.labels.size(); i++) out += (i ? "," : "") + g.labels[i];
    out += ")";
  }
  return out;
}

Result<std::string> Format(std::string_view input, const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kLog:
      return FormatLogSpan(input, e);
    case Expr::Kind::kRangeAgg: {
      LOGE_ASSIGN_OR_RETURN(std::string log, FormatLogSpan(input, e));
      std::string out = std::string(RangeOpName(e.range_op)) + "(";
      if (e.param) out += GoFloat(*e.param) + ",";
      out += log + "[" + PromDuration(e.range_ns) + "]";
      if (e.offset_ns != 0) out += " offset " + PromDuration(e.offset_ns);
      out += ")";
      if (e.grouping.present) out += GroupingText(e.grouping);
      return out;
    }
    case Expr::Kind::kVecAgg: {
      LOGE_ASSIGN_OR_RETURN(std::string inner, Format(input, *e.lhs));
      std::string out = VecOpName(e.vec_op);
      if (e.grouping.present && !e.grouping.Singleton()) out += GroupingText(e.grouping);
      out += "(";
      if (e.vec_op == VecOp::kTopK || e.vec_op == VecOp::kBottomK) out += std::to_string(e.k) + ",";
      return out + inner + ")";
    }
    case Expr::Kind::kBinOp: {
      LOGE_ASSIGN_OR_RETURN(std::string lhs, Format(input, *e.lhs));
      LOGE_ASSIGN_OR_RETURN(std::string rhs, Format(input, *e.rhs));
      std::string op = e.op;
      if (e.return_bool) op += " bool";
      const VectorMatching& m = e.matching;
      if (m.on || !m.labels.empty()) {
        std::string group;
        if (m.card == VectorMatching::Card::kManyToOne) group = "group_left";
        if (m.card == VectorMatching::Card::kOneToMany) group = "group_right";
        if (!group.empty() && !m.include.empty()) {
          group += " (";
          for (size_t i = 0; i < m.include.size(); i++) group += (i ? "," : "") + m.include[i];
          group += ")";
        }
        std::string labels;
        for (size_t i = 0; i < m.labels.size(); i++) labels += (i ? "," : "") + m.labels[i];
        op += std::string(m.on ? " on" : " ignoring") + " (" + labels + ") " + group;
      }
      return "(" + lhs + " " + op + " " + rhs + ")";
    }
    case Expr::Kind::kLiteral:
      return GoFloat(e.value);
    case Expr::Kind::kVector:
      return "vector(" + GoFloat(e.value) + ")";
    case Expr::Kind::kLabelReplace: {
      LOGE_ASSIGN_OR_RETURN(std::string inner, Format(input, *e.lhs));
      return "label_replace(" + inner + "," + GoQuote(e.dst) + "," + GoQuote(e.replacement) + "," + GoQuote(e.src) +
             "," + GoQuote(e.regex) + ")";
    }
  }
  return Status::InvalidArgument("unknown expression");
}

}  // namespace

Result<std::string> FormatQuery(std::string_view input) {
  ParseOptions po;
  po.loki_errors = true;
  LOGE_ASSIGN_OR_RETURN(ExprPtr e, ParseExpr(input, po));
  return Format(input, *e);
}

}  // namespace loge::query
