// Stream selectors and pipelines (see logql.h, logql_parser.h).
#include "query/logql.h"

#include <cstdint>

#include "query/logql_parser.h"

namespace loge::query {

namespace {

// Reads a positive decimal of at most 9 digits at m[*i].
bool ReadPositive(const std::string& m, size_t* i, int* out) {
  size_t start = *i;
  int v = 0;
  while (*i < m.size() && m[*i] >= '0' && m[*i] <= '9' && *i - start < 9) v = v * 10 + (m[(*i)++] - '0');
  if (*i == start || v == 0) return false;
  *out = v;
  return true;
}

bool IsLineFilterTok(Tok k) {
  return k == Tok::kPipeExact || k == Tok::kNeq || k == Tok::kPipeMatch || k == Tok::kNre ||
         k == Tok::kPipePattern || k == Tok::kNpa;
}

bool MatcherOp(Tok k, MatchType* type) {
  switch (k) {
    case Tok::kEq: *type = MatchType::kEq; return true;
    case Tok::kNeq: *type = MatchType::kNeq; return true;
    case Tok::kRe: *type = MatchType::kRe; return true;
    case Tok::kNre: *type = MatchType::kNre; return true;
    default: return false;
  }
}

// Go's regexp error wording for an RE2 error ("missing ): (" ->
// "missing closing ): `(`").
std::string GoRegexError(const std::string& re2_error, const std::string& pattern) {
  std::string e = re2_error;
  auto starts = [&](std::string_view p) { return std::string_view(e).starts_with(p); };
  std::string arg = pattern;
  size_t colon = e.find(": ");
  if (colon != std::string::npos) arg = e.substr(colon + 2);
  std::string code;
  if (starts("missing )")) {
    code = "missing closing )";
    arg = pattern;
  } else if (starts("missing ]")) {
    code = "missing closing ]";
  } else if (starts("unexpected )")) {
    code = "unexpected )";
    arg = pattern;
  } else if (starts("bad repetition operator")) {
    code = "invalid nested repetition operator";
  } else if (starts("no argument for repetition operator")) {
    code = "missing argument to repetition operator";
  } else if (starts("invalid escape sequence")) {
    code = "invalid escape sequence";
  } else if (starts("invalid character class range")) {
    code = "invalid character class range";
  } else if (starts("invalid character class")) {
    code = "invalid character class";
  } else if (starts("trailing \\")) {
    return "error parsing regexp: trailing backslash at end of expression: ``";
  } else if (starts("invalid perl operator") || starts("invalid named capture group")) {
    code = "invalid or unsupported Perl syntax";
  } else if (starts("bad repetition operator") || starts("invalid repetition size")) {
    code = "invalid repeat count";
  } else {
    code = e.substr(0, colon);
  }
  return "error parsing regexp: " + code + ": `" + arg + "`";
}

}  // namespace

std::string StageText(std::string_view op, std::string_view arg) { return std::string(op) + " " + GoQuote(arg); }

Status Parser::Advance() {
  prev_end_ = tok_.end;
  auto t = lex_.Next();
  if (!t.ok()) {
    if (!opts_.loki_errors) return t.status();
    // Lexing errors: Loki reports a bad range duration at line 0.
    const std::string& m = t.status().message();
    size_t sp = m.find(": ");
    std::string msg = sp == std::string::npos ? m : m.substr(sp + 2);
    auto pos = ErrorPosition(t.status());
    if (lex_.range_error()) {
      return Status::InvalidArgument("parse error at line 0, col " + std::to_string(pos.second) + ": " + msg);
    }
    return Status::InvalidArgument("parse error at line " + std::to_string(pos.first) + ", col " +
                                   std::to_string(pos.second) + ": " + msg);
  }
  tok_ = std::move(*t);
  return Status::OK();
}

Status Parser::Fail(size_t pos, const std::string& loge_msg, const std::string& loki_msg, bool positioned) const {
  if (!opts_.loki_errors) return lex_.Error(pos, loge_msg);
  if (!positioned) return Status::InvalidArgument("parse error : " + loki_msg);
  auto [l, c] = lex_.LineCol(pos);
  return Status::InvalidArgument("parse error at line " + std::to_string(l) + ", col " + std::to_string(c) + ": " +
                                 loki_msg);
}

Status Parser::Unexpected(const std::string& loge_what, const std::string& expecting) const {
  std::string loki = "syntax error: unexpected " + lex_.LokiName(tok_);
  if (!expecting.empty()) loki += ", expecting " + expecting;
  std::string loge = loge_what.empty() ? "unexpected " + lex_.Describe(tok_) : loge_what;
  return Fail(tok_.pos, loge, loki, true);
}

Status Parser::ExpectedString(const std::string& after) const {
  std::string what = "expected string after " + after;
  if (tok_.kind != Tok::kEof) what += ", found " + lex_.Describe(tok_);
  return Unexpected(what, "STRING");
}

bool Parser::IsName() const { return tok_.kind == Tok::kIdent || tok_.kind == Tok::kKeyword || tok_.kind == Tok::kFunc; }

// At `{`; returns past the matching `}`.
Status Parser::ParseMatchers(std::vector<LabelMatcher>* out) {
  size_t open = tok_.pos;
  LOGE_RETURN_IF_ERROR(Advance());
  auto missing = [&] {
    return Fail(tok_.pos, "missing } to close { at " + lex_.Where(open),
                "syntax error: unexpected " + lex_.LokiName(tok_) + ", expecting } or ,", true);
  };
  for (;;) {
    if (tok_.kind == Tok::kRBrace) return Advance();
    if (tok_.kind == Tok::kEof) return missing();
    if (!IsName()) return Unexpected("expected label name or }, found " + lex_.Describe(tok_));
    std::string name = tok_.kind == Tok::kIdent ? tok_.value : std::string(lex_.Raw(tok_));
    LOGE_RETURN_IF_ERROR(Advance());
    MatchType type;
    if (!MatcherOp(tok_.kind, &type)) {
      return Unexpected("expected =, !=, =~ or !~ after label name " + Printable(name, true) + ", found " +
                        lex_.Describe(tok_));
    }
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind != Tok::kString) return ExpectedString(MatchTypeName(type));
    auto m = LabelMatcher::Make(std::move(name), std::move(tok_.value), type);
    if (!m.ok()) return Fail(tok_.pos, m.status().message(), m.status().message(), false);
    out->push_back(std::move(*m));
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind == Tok::kComma) {
      LOGE_RETURN_IF_ERROR(Advance());
    } else if (tok_.kind == Tok::kEof) {
      return missing();
    } else if (tok_.kind != Tok::kRBrace) {
      return Unexpected("expected , or } after matcher, found " + lex_.Describe(tok_), "} or ,");
    }
  }
}

bool Parser::AtPipelineStart() const { return IsLineFilterTok(tok_.kind) || tok_.kind == Tok::kPipe; }

// At a line filter operator; returns past its last alternative.
Status Parser::ParseLineFilter(std::vector<StagePtr>* stages, std::vector<std::string>* texts) {
  LineFilterType type = LineFilterType::kContains;
  const char* op = "|=";
  bool pattern = false;
  switch (tok_.kind) {
    case Tok::kPipeExact: break;
    case Tok::kNeq: type = LineFilterType::kNotContains; op = "!="; break;
    case Tok::kPipeMatch: type = LineFilterType::kRegex; op = "|~"; break;
    case Tok::kNre: type = LineFilterType::kNotRegex; op = "!~"; break;
    case Tok::kPipePattern: pattern = true; op = "|>"; break;
    default: pattern = true; type = LineFilterType::kNotContains; op = "!>"; break;
  }
  LOGE_RETURN_IF_ERROR(Advance());
  if (tok_.kind == Tok::kFunc && tok_.value == "ip") {
    if (type != LineFilterType::kContains && type != LineFilterType::kNotContains) {
      return Fail(tok_.pos, "ip() works with |= and != only", "ip: invalid operation", false);
    }
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind != Tok::kLParen) return Unexpected("", "(");
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind != Tok::kString) return ExpectedString("ip(");
    std::string pat = tok_.value;
    size_t at = tok_.pos;
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind != Tok::kRParen) return Unexpected("", ")");
    LOGE_RETURN_IF_ERROR(Advance());
    auto st = MakeIpLineFilter(type == LineFilterType::kNotContains, pat);
    if (!st.ok()) return Fail(at, st.status().message(), st.status().message(), false);
    stages->push_back(*st);
    texts->push_back(std::string(op) + " ip(" + GoQuote(pat) + ")");
    return Status::OK();
  }
  if (tok_.kind != Tok::kString) return ExpectedString(op);
  std::vector<std::string> needles;
  std::vector<size_t> positions;
  // One more line filter of the expression; past kMaxLineFilters, stop
  // before building (or even reading) the rest.
  auto count = [&]() -> Status {
    if (++line_filters_ <= kMaxLineFilters) return Status::OK();
    const std::string m = "too many line filters: the query has more than " + std::to_string(kMaxLineFilters) +
                          " line filters and `or` alternatives (the limit)";
    return Fail(tok_.pos, m, m, false);
  };
  LOGE_RETURN_IF_ERROR(count());
  needles.push_back(std::move(tok_.value));
  positions.push_back(tok_.pos);
  LOGE_RETURN_IF_ERROR(Advance());
  while (tok_.kind == Tok::kKeyword && tok_.value == "or") {
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind != Tok::kString) return ExpectedString("or");
    LOGE_RETURN_IF_ERROR(count());
    needles.push_back(std::move(tok_.value));
    positions.push_back(tok_.pos);
    LOGE_RETURN_IF_ERROR(Advance());
  }
  std::string text = StageText(op, needles[0]);
  if (pattern) {
    auto st = MakePatternLineFilter(type == LineFilterType::kNotContains, needles);
    if (!st.ok()) {
      return Fail(positions[0], st.status().message(), "stage '" + text + "' : " + st.status().message(), false);
    }
    stages->push_back(*st);
    texts->push_back(text);
    return Status::OK();
  }
  auto f = LineFilter::Make(type, needles);
  if (!f.ok()) {
    // Only a regex fails; find the alternative to point at.
    for (size_t i = 0; i < needles.size(); i++) {
      auto one = LineFilter::Make(type, needles[i]);
      if (!one.ok()) {
        std::string m = one.status().message();
        size_t q = m.find(": invalid regex");
        std::string re2_err = m.substr(m.find("\": ", q) + 3);
        return Fail(positions[i], m, "stage '" + StageText(op, needles[i]) + "' : " + GoRegexError(re2_err, needles[i]),
                    false);
      }
    }
    return Fail(positions[0], f.status().message(), f.status().message(), false);
  }
  stages->push_back(MakeLineFilterStage(std::move(*f)));
  texts->push_back(text);
  return Status::OK();
}

Status Parser::ParsePipeline(std::vector<StagePtr>* stages, std::vector<std::string>* texts, bool in_range) {
  for (;;) {
    if (IsLineFilterTok(tok_.kind)) {
      LOGE_RETURN_IF_ERROR(ParseLineFilter(stages, texts));
    } else if (tok_.kind == Tok::kPipe) {
      // `| unwrap` ends the pipeline of a range aggregation.
      Lexer peek = lex_;
      auto next = peek.Next();
      if (next.ok() && next->kind == Tok::kKeyword && next->value == "unwrap") {
        if (in_range) return Status::OK();
        LOGE_RETURN_IF_ERROR(Advance());
        return Unexpected("unwrap is only allowed in a metric query (`sum_over_time({...} | unwrap x [5m])`)");
      }
      LOGE_RETURN_IF_ERROR(ParseStage(stages, texts));
    } else {
      return Status::OK();
    }
  }
}

void Parser::Hoist(std::vector<StagePtr> stages, Selector* sel) {
  auto rest = std::make_shared<Pipeline>();
  bool rewritten = false;
  // Only a stage other than a line filter can set __error__: until one
  // comes, `| drop __error__` clears nothing. Grafana appends it to the
  // logs-volume query of every Explore search (`sum by (level,
  // detected_level) (count_over_time({…} | drop __error__[…]))`); left in,
  // it runs a pipeline stage on every row for nothing (281 -> 268 ms for
  // that query over 24 h of the 2M-line side-by-side corpus, a loaded
  // machine; docs/benchmarks.md, "Grafana's Explore sequence").
  bool may_set_errors = false;
  for (auto& s : stages) {
    if (!may_set_errors && s->OnlyClearsErrors()) continue;
    if (!s->IsLineFilter()) may_set_errors = true;
    if (!rewritten && s->IsLineFilter()) {
      // Plain line filters move to the selector, where blocks and rows are
      // checked before anything is decoded; ip() and pattern filters stay.
      if (auto* lf = dynamic_cast<const LineFilterHolder*>(s.get())) {
        sel->line_filters.push_back(lf->filter());
        continue;
      }
    }
    if (s->ChangesLine()) rewritten = true;
    rest->stages.push_back(std::move(s));
  }
  if (!rest->stages.empty()) sel->pipeline = std::move(rest);
}

Result<Selector> Parser::ParseSelectorOnly() {
  LOGE_RETURN_IF_ERROR(Advance());
  Selector s;
  if (tok_.kind == Tok::kLBrace) {
    LOGE_RETURN_IF_ERROR(ParseMatchers(&s.matchers));
  } else if (!IsLineFilterTok(tok_.kind)) {
    return Unexpected("expected { or a line filter, found " + lex_.Describe(tok_));
  }
  std::vector<StagePtr> stages;
  std::vector<std::string> texts;
  LOGE_RETURN_IF_ERROR(ParsePipeline(&stages, &texts, false));
  if (tok_.kind != Tok::kEof) return Unexpected("unexpected " + lex_.Describe(tok_) + " after selector");
  Hoist(std::move(stages), &s);
  return s;
}

Result<Selector> ParseSelector(std::string_view input) { return Parser(input, ParseOptions{}).ParseSelectorOnly(); }

Result<ExprPtr> ParseExpr(std::string_view input, const ParseOptions& opts) {
  return Parser(input, opts).ParseQuery();
}

std::pair<int, int> ErrorPosition(const Status& st) {
  const std::string& m = st.message();
  size_t i = 0;
  int line = 0, col = 0;
  if (!ReadPositive(m, &i, &line) || i >= m.size() || m[i++] != ':') return {0, 0};
  if (!ReadPositive(m, &i, &col) || m.compare(i, 2, ": ") != 0) return {0, 0};
  return {line, col};
}

}  // namespace loge::query
