// Pipeline stages after `|`: parsers, label filters, formatters, drop and
// keep (see logql_parser.h).
#include "query/logql_parser.h"

namespace loge::query {

namespace {

bool CmpOpOf(Tok k, CmpOp* op) {
  switch (k) {
    case Tok::kEq:
    case Tok::kCmpEq: *op = CmpOp::kEq; return true;
    case Tok::kNeq: *op = CmpOp::kNeq; return true;
    case Tok::kGt: *op = CmpOp::kGt; return true;
    case Tok::kGte: *op = CmpOp::kGte; return true;
    case Tok::kLt: *op = CmpOp::kLt; return true;
    case Tok::kLte: *op = CmpOp::kLte; return true;
    default: return false;
  }
}

}  // namespace

// At `|` (alone); returns past the stage.
Status Parser::ParseStage(std::vector<StagePtr>* stages, std::vector<std::string>* texts) {
  LOGE_RETURN_IF_ERROR(Advance());
  const size_t at = tok_.pos;
  auto stage_error = [&](const std::string& text, const Status& st) {
    return Fail(at, st.message(), "stage '" + text + "' : " + st.message(), false);
  };
  if (tok_.kind == Tok::kKeyword) {
    const std::string kw = tok_.value;
    if (kw == "json") {
      LOGE_RETURN_IF_ERROR(Advance());
      if (tok_.kind == Tok::kIdent) {
        LOGE_ASSIGN_OR_RETURN(auto exprs, ParseExtractionList());
        auto st = MakeJsonExtractParser(std::move(exprs));
        if (!st.ok()) return stage_error("| json", st.status());
        stages->push_back(*st);
      } else {
        stages->push_back(MakeJsonParser());
      }
      texts->push_back("| json");
      return Status::OK();
    }
    if (kw == "logfmt") {
      LOGE_RETURN_IF_ERROR(Advance());
      bool strict = false, keep_empty = false;
      while (tok_.kind == Tok::kFlag) {
        if (tok_.value == "--strict") strict = true;
        if (tok_.value == "--keep-empty") keep_empty = true;
        LOGE_RETURN_IF_ERROR(Advance());
      }
      if (tok_.kind == Tok::kIdent) {
        LOGE_ASSIGN_OR_RETURN(auto exprs, ParseExtractionList());
        auto st = MakeLogfmtExtractParser(std::move(exprs), strict, keep_empty);
        if (!st.ok()) return stage_error("| logfmt", st.status());
        stages->push_back(*st);
      } else {
        stages->push_back(MakeLogfmtParser(strict, keep_empty));
      }
      texts->push_back("| logfmt");
      return Status::OK();
    }
    if (kw == "unpack" || kw == "decolorize") {
      LOGE_RETURN_IF_ERROR(Advance());
      stages->push_back(kw == "unpack" ? MakeUnpackParser() : MakeDecolorize());
      texts->push_back("| " + kw);
      return Status::OK();
    }
    if (kw == "regexp" || kw == "pattern" || kw == "line_format") {
      LOGE_RETURN_IF_ERROR(Advance());
      if (tok_.kind != Tok::kString) return ExpectedString(kw);
      std::string arg = tok_.value;
      LOGE_RETURN_IF_ERROR(Advance());
      std::string text = StageText("| " + kw, arg);
      Result<StagePtr> st = kw == "regexp" ? MakeRegexpParser(arg)
                            : kw == "pattern" ? MakePatternParser(arg)
                                              : MakeLineFormat(arg);
      if (!st.ok()) return stage_error(text, st.status());
      stages->push_back(*st);
      texts->push_back(text);
      return Status::OK();
    }
    if (kw == "label_format") {
      LOGE_RETURN_IF_ERROR(Advance());
      std::vector<LabelFormatItem> items;
      for (;;) {
        if (!IsName()) return Unexpected("expected a label name after label_format, found " + lex_.Describe(tok_));
        LabelFormatItem it;
        it.dst = tok_.value;
        LOGE_RETURN_IF_ERROR(Advance());
        if (tok_.kind != Tok::kEq) return Unexpected("expected = after " + it.dst + ", found " + lex_.Describe(tok_), "=");
        LOGE_RETURN_IF_ERROR(Advance());
        if (tok_.kind == Tok::kString) {
          it.src_or_template = tok_.value;
        } else if (IsName()) {
          it.src_or_template = tok_.value;
          it.rename = true;
        } else {
          return Unexpected("expected a label name or a template string, found " + lex_.Describe(tok_));
        }
        items.push_back(std::move(it));
        LOGE_RETURN_IF_ERROR(Advance());
        if (tok_.kind != Tok::kComma) break;
        LOGE_RETURN_IF_ERROR(Advance());
      }
      std::string text = "| label_format";
      auto st = MakeLabelFormat(std::move(items));
      if (!st.ok()) return stage_error(text, st.status());
      stages->push_back(*st);
      texts->push_back(text);
      return Status::OK();
    }
    if (kw == "drop" || kw == "keep") {
      LOGE_RETURN_IF_ERROR(Advance());
      LOGE_ASSIGN_OR_RETURN(auto items, ParseNamedMatchers());
      stages->push_back(kw == "drop" ? MakeDrop(std::move(items)) : MakeKeep(std::move(items)));
      texts->push_back("| " + kw);
      return Status::OK();
    }
  }
  if (tok_.kind != Tok::kIdent && tok_.kind != Tok::kLParen && tok_.kind != Tok::kFunc) {
    return Unexpected("expected a parser, a formatter or a label filter after |, found " + lex_.Describe(tok_));
  }
  LOGE_ASSIGN_OR_RETURN(LabelFilterPtr f, ParseLabelFilterExpr());
  stages->push_back(MakeLabelFilterStage(std::move(f)));
  texts->push_back("| label filter");
  return Status::OK();
}

// `a="x.y", b` (label names with optional expressions).
Result<std::vector<std::pair<std::string, std::string>>> Parser::ParseExtractionList() {
  std::vector<std::pair<std::string, std::string>> out;
  for (;;) {
    if (tok_.kind != Tok::kIdent) return Unexpected("expected a label name, found " + lex_.Describe(tok_));
    std::string id = tok_.value;
    LOGE_RETURN_IF_ERROR(Advance());
    std::string expr = id;
    if (tok_.kind == Tok::kEq) {
      LOGE_RETURN_IF_ERROR(Advance());
      if (tok_.kind != Tok::kString) return ExpectedString("=");
      expr = tok_.value;
      LOGE_RETURN_IF_ERROR(Advance());
    }
    out.emplace_back(std::move(id), std::move(expr));
    if (tok_.kind != Tok::kComma) return out;
    LOGE_RETURN_IF_ERROR(Advance());
  }
}

// `a, b="v", c=~"re"` for drop and keep.
Result<std::vector<NamedMatcher>> Parser::ParseNamedMatchers() {
  std::vector<NamedMatcher> out;
  for (;;) {
    if (!IsName()) return Unexpected("expected a label name, found " + lex_.Describe(tok_));
    NamedMatcher nm;
    nm.name = tok_.value;
    LOGE_RETURN_IF_ERROR(Advance());
    MatchType type;
    bool is_op = true;
    switch (tok_.kind) {
      case Tok::kEq: type = MatchType::kEq; break;
      case Tok::kNeq: type = MatchType::kNeq; break;
      case Tok::kRe: type = MatchType::kRe; break;
      case Tok::kNre: type = MatchType::kNre; break;
      default: is_op = false; type = MatchType::kEq;
    }
    if (is_op) {
      // `drop a != "x"` reads as a matcher only when a string follows.
      LOGE_RETURN_IF_ERROR(Advance());
      if (tok_.kind != Tok::kString) return ExpectedString(MatchTypeName(type));
      auto m = LabelMatcher::Make(nm.name, tok_.value, type);
      if (!m.ok()) return Fail(tok_.pos, m.status().message(), m.status().message(), false);
      nm.matcher = std::move(*m);
      LOGE_RETURN_IF_ERROR(Advance());
    }
    out.push_back(std::move(nm));
    if (tok_.kind != Tok::kComma) return out;
    LOGE_RETURN_IF_ERROR(Advance());
  }
}

// or-separated terms.
Result<LabelFilterPtr> Parser::ParseLabelFilterExpr() {
  LOGE_ASSIGN_OR_RETURN(LabelFilterPtr f, ParseLabelFilterTerm());
  while (tok_.kind == Tok::kKeyword && tok_.value == "or") {
    LOGE_RETURN_IF_ERROR(Advance());
    LOGE_ASSIGN_OR_RETURN(LabelFilterPtr r, ParseLabelFilterTerm());
    f = MakeOrLabelFilter(std::move(f), std::move(r));
  }
  return f;
}

// Leaves joined by `and`, `,` or nothing.
Result<LabelFilterPtr> Parser::ParseLabelFilterTerm() {
  LOGE_ASSIGN_OR_RETURN(LabelFilterPtr f, ParseLabelFilterLeaf());
  for (;;) {
    bool join = false;
    if ((tok_.kind == Tok::kKeyword && tok_.value == "and") || tok_.kind == Tok::kComma) {
      LOGE_RETURN_IF_ERROR(Advance());
      join = true;
    } else if (tok_.kind == Tok::kIdent || tok_.kind == Tok::kLParen) {
      join = true;
    }
    if (!join) return f;
    LOGE_ASSIGN_OR_RETURN(LabelFilterPtr r, ParseLabelFilterLeaf());
    f = MakeAndLabelFilter(std::move(f), std::move(r));
  }
}

Result<LabelFilterPtr> Parser::ParseLabelFilterLeaf() {
  if (tok_.kind == Tok::kLParen) {
    LOGE_RETURN_IF_ERROR(Advance());
    LOGE_ASSIGN_OR_RETURN(LabelFilterPtr f, ParseLabelFilterExpr());
    if (tok_.kind != Tok::kRParen) return Unexpected("expected ) after a label filter, found " + lex_.Describe(tok_));
    LOGE_RETURN_IF_ERROR(Advance());
    return f;
  }
  if (!IsName()) {
    return Unexpected("expected a label filter (name op value), found " + lex_.Describe(tok_));
  }
  std::string name = tok_.kind == Tok::kIdent ? tok_.value : std::string(lex_.Raw(tok_));
  LOGE_RETURN_IF_ERROR(Advance());
  Tok op_tok = tok_.kind;
  CmpOp op;
  if (op_tok == Tok::kRe || op_tok == Tok::kNre) {
    MatchType type = op_tok == Tok::kRe ? MatchType::kRe : MatchType::kNre;
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind != Tok::kString) return ExpectedString(MatchTypeName(type));
    auto m = LabelMatcher::Make(name, tok_.value, type);
    if (!m.ok()) return Fail(tok_.pos, m.status().message(), m.status().message(), false);
    LOGE_RETURN_IF_ERROR(Advance());
    return MakeStringLabelFilter(std::move(*m));
  }
  if (!CmpOpOf(op_tok, &op)) {
    return Unexpected("expected =, !=, =~, !~, ==, >, >=, < or <= after label name " + Printable(name, true) +
                      " in label filter, found " + lex_.Describe(tok_));
  }
  LOGE_RETURN_IF_ERROR(Advance());
  if (tok_.kind == Tok::kString) {
    if (op_tok != Tok::kEq && op_tok != Tok::kNeq) return Unexpected("a string compares with = or != only");
    auto m = LabelMatcher::Make(name, tok_.value, op_tok == Tok::kEq ? MatchType::kEq : MatchType::kNeq);
    if (!m.ok()) return Fail(tok_.pos, m.status().message(), m.status().message(), false);
    LOGE_RETURN_IF_ERROR(Advance());
    return MakeStringLabelFilter(std::move(*m));
  }
  if (tok_.kind == Tok::kFunc && tok_.value == "ip") {
    if (op_tok != Tok::kEq && op_tok != Tok::kNeq) return Unexpected("ip() compares with = or != only");
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind != Tok::kLParen) return Unexpected("", "(");
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind != Tok::kString) return ExpectedString("ip(");
    std::string pat = tok_.value;
    size_t at = tok_.pos;
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind != Tok::kRParen) return Unexpected("", ")");
    LOGE_RETURN_IF_ERROR(Advance());
    auto f = MakeIpLabelFilter(name, op_tok == Tok::kNeq, pat);
    if (!f.ok()) return Fail(at, f.status().message(), f.status().message(), false);
    return *f;
  }
  if (tok_.kind == Tok::kDuration) {
    int64_t d = tok_.dur;
    LOGE_RETURN_IF_ERROR(Advance());
    return MakeDurationLabelFilter(name, op, d);
  }
  if (tok_.kind == Tok::kBytes) {
    uint64_t b = tok_.bytes;
    LOGE_RETURN_IF_ERROR(Advance());
    return MakeBytesLabelFilter(name, op, b);
  }
  double sign = 1;
  if (tok_.kind == Tok::kAdd || tok_.kind == Tok::kSub) {
    sign = tok_.kind == Tok::kSub ? -1 : 1;
    LOGE_RETURN_IF_ERROR(Advance());
  }
  if (tok_.kind != Tok::kNumber) {
    return Unexpected("expected a string, a number, a duration, a byte size or ip(...) after the operator, found " +
                      lex_.Describe(tok_));
  }
  double v = sign * tok_.number;
  LOGE_RETURN_IF_ERROR(Advance());
  return MakeNumberLabelFilter(name, op, v);
}

}  // namespace loge::query
