#include "query/logql.h"

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/utf8.h"

namespace loge::query {

namespace {

// Longest piece of the input quoted in an error message: enough to recognise
// the token, short enough to keep the message on one terminal line.
constexpr size_t kMaxQuoted = 32;

enum class Tok {
  kEof,
  kLBrace,   // {
  kRBrace,   // }
  kComma,    // ,
  kIdent,    // label name, or the keyword `or`
  kString,   // "…" or `…`
  kEq,       // =
  kNeq,      // != (label matcher or line filter)
  kRe,       // =~
  kNre,      // !~ (label matcher or line filter)
  kPipeEq,   // |=
  kPipeRe,   // |~
  kPipe,     // | not followed by = or ~: a label filter stage follows
  kInvalid,  // a byte (or ==) that starts no token; the parser says what it expected
};

struct Token {
  Tok kind = Tok::kEof;
  size_t pos = 0;     // byte offset of the first byte in the input
  size_t end = 0;     // byte offset one past the last byte
  std::string value;  // kIdent: the name; kString: the text after unescaping
};

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsPrintable(char c) { return c >= 0x20 && c < 0x7f; }



// Input bytes as they may appear in a one-line message: printable ASCII as
// is, anything else as \xHH, cut after kMaxQuoted bytes.
std::string Printable(std::string_view s, bool escape_quotes) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (i == kMaxQuoted) {
      out += "...";
      break;
    }
    char c = s[i];
    if (!IsPrintable(c)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
      continue;
    }
    if (escape_quotes && (c == '"' || c == '\\')) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// Splits the input into tokens on demand. Errors in a string (bad escape,
// no closing quote) are reported where the lexer meets them.
class Lexer {
 public:
  explicit Lexer(std::string_view in) : in_(in) {}

  Result<Token> Next();

  // "L:C" of a byte offset, both 1-based, the column counted in bytes.
  std::string Where(size_t pos) const {
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < pos && i < in_.size(); i++) {
      if (in_[i] == '\n') {
        line++;
        line_start = i + 1;
      }
    }
    return std::to_string(line) + ":" + std::to_string(pos - line_start + 1);
  }

  Status Error(size_t pos, const std::string& what) const {
    return Status::InvalidArgument(Where(pos) + ": " + what);
  }

  std::string_view Raw(const Token& t) const { return in_.substr(t.pos, t.end - t.pos); }

  // How a token reads in "found …": `"}"`, `string "abc"`, `end of input`.
  std::string Describe(const Token& t) const {
    std::string_view raw = Raw(t);
    switch (t.kind) {
      case Tok::kEof: return "end of input";
      case Tok::kString: return "string " + Printable(raw, false);
      default: return "\"" + Printable(raw, true) + "\"";
    }
  }

 private:
  Result<Token> LexQuoted(size_t start);
  Result<Token> LexRaw(size_t start);
  // Decodes the escape whose backslash is at *i into *out and moves *i past it.
  Status LexEscape(size_t start, size_t* i, std::string* out) const;

  std::string_view in_;
  size_t i_ = 0;  // next byte to read
};

Result<Token> Lexer::Next() {
  while (i_ < in_.size() && IsSpace(in_[i_])) i_++;
  Token t;
  t.pos = i_;
  if (i_ >= in_.size()) {
    t.end = i_;
    return t;  // kEof
  }
  char c = in_[i_];
  char next = i_ + 1 < in_.size() ? in_[i_ + 1] : '\0';
  size_t len = 1;
  switch (c) {
    case '{': t.kind = Tok::kLBrace; break;
    case '}': t.kind = Tok::kRBrace; break;
    case ',': t.kind = Tok::kComma; break;
    case '=':
      if (next == '~') {
        t.kind = Tok::kRe;
        len = 2;
      } else if (next == '=') {
        t.kind = Tok::kInvalid;  // Prometheus has no ==; name it whole in the error
        len = 2;
      } else {
        t.kind = Tok::kEq;
      }
      break;
    case '!':
    case '|':
      if (next == '=') {
        t.kind = c == '!' ? Tok::kNeq : Tok::kPipeEq;
        len = 2;
      } else if (next == '~') {
        t.kind = c == '!' ? Tok::kNre : Tok::kPipeRe;
        len = 2;
      } else {
        t.kind = c == '|' ? Tok::kPipe : Tok::kInvalid;
      }
      break;
    case '"': return LexQuoted(i_);
    case '`': return LexRaw(i_);
    default:
      if (IsIdentStart(c)) {
        while (i_ + len < in_.size() && IsIdentChar(in_[i_ + len])) len++;
        t.kind = Tok::kIdent;
        t.value = std::string(in_.substr(i_, len));
      } else {
        t.kind = Tok::kInvalid;
      }
  }
  i_ += len;
  t.end = i_;
  return t;
}

Result<Token> Lexer::LexQuoted(size_t start) {
  Token t;
  t.kind = Tok::kString;
  t.pos = start;
  size_t i = start + 1;
  for (;;) {
    // A double-quoted string ends on its line, as in Go; backticks span lines.
    if (i >= in_.size() || in_[i] == '\n') return Error(start, "unterminated string");
    char c = in_[i];
    if (c == '"') break;
    if (c == '\\') {
      LOGE_RETURN_IF_ERROR(LexEscape(start, &i, &t.value));
    } else {
      t.value.push_back(c);
      i++;
    }
  }
  i_ = i + 1;
  t.end = i_;
  return t;
}

Result<Token> Lexer::LexRaw(size_t start) {
  size_t close = in_.find('`', start + 1);
  if (close == std::string_view::npos) return Error(start, "unterminated raw string");
  Token t;
  t.kind = Tok::kString;
  t.pos = start;
  t.value = std::string(in_.substr(start + 1, close - start - 1));
  i_ = close + 1;
  t.end = i_;
  return t;
}

// Go's escapes in interpreted string literals (go.dev/ref/spec#Rune_literals),
// plus \' which Loki users write out of habit.
Status Lexer::LexEscape(size_t start, size_t* i, std::string* out) const {
  size_t bs = *i;
  if (bs + 1 >= in_.size()) return Error(start, "unterminated string");
  char e = in_[bs + 1];
  char simple = 0;
  switch (e) {
    case 'a': simple = '\a'; break;
    case 'b': simple = '\b'; break;
    case 'f': simple = '\f'; break;
    case 'n': simple = '\n'; break;
    case 'r': simple = '\r'; break;
    case 't': simple = '\t'; break;
    case 'v': simple = '\v'; break;
    case '\\': simple = '\\'; break;
    case '"': simple = '"'; break;
    case '\'': simple = '\''; break;
    default: break;
  }
  if (simple != 0) {
    out->push_back(simple);
    *i = bs + 2;
    return Status::OK();
  }

  // Fixed-width numeric escapes: \xHH, \uHHHH, \UHHHHHHHH, \ooo.
  size_t digits = 0;
  uint32_t base = 16;
  if (e == 'x') {
    digits = 2;
  } else if (e == 'u') {
    digits = 4;
  } else if (e == 'U') {
    digits = 8;
  } else if (e >= '0' && e <= '7') {
    digits = 3;
    base = 8;
  } else if (IsPrintable(e)) {
    return Error(bs, std::string("invalid escape \\") + e + " in string");
  } else {
    return Error(bs, "invalid escape in string: \\ followed by byte " + Printable(in_.substr(bs + 1, 1), true));
  }
  size_t first = base == 8 ? bs + 1 : bs + 2;  // octal digits start right after the backslash
  uint32_t v = 0;
  for (size_t k = 0; k < digits; k++) {
    int d = first + k < in_.size() ? HexDigitValue(in_[first + k]) : -1;
    if (d < 0 || d >= static_cast<int>(base)) {
      if (base == 8) {
        return Error(bs, "invalid escape \\" + std::string(in_.substr(bs + 1, k)) + " in string: want 3 octal digits");
      }
      return Error(bs, std::string("invalid escape \\") + e + " in string: want " + std::to_string(digits) +
                           " hex digits");
    }
    v = v * base + static_cast<uint32_t>(d);
  }
  std::string_view text = in_.substr(bs, first + digits - bs);
  if (base == 8 || e == 'x') {
    if (v > 0xFF) return Error(bs, "invalid escape " + std::string(text) + " in string: value above 255");
    out->push_back(static_cast<char>(v));
  } else {
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
      return Error(bs, "invalid escape " + std::string(text) + " in string: not a Unicode code point");
    }
    AppendUtf8(v, out);
  }
  *i = first + digits;
  return Status::OK();
}

bool IsLineFilterOp(Tok k) { return k == Tok::kPipeEq || k == Tok::kNeq || k == Tok::kPipeRe || k == Tok::kNre; }

// The matcher operator a token spells, if any.
bool MatcherOp(Tok k, MatchType* type) {
  switch (k) {
    case Tok::kEq: *type = MatchType::kEq; return true;
    case Tok::kNeq: *type = MatchType::kNeq; return true;
    case Tok::kRe: *type = MatchType::kRe; return true;
    case Tok::kNre: *type = MatchType::kNre; return true;
    default: return false;
  }
}

// LogQL pipeline stages other than filters; named in the error so a user
// knows the stage exists but is not supported here, rather than mistyped.
bool IsUnsupportedStage(std::string_view name) {
  for (std::string_view s : {"json", "logfmt", "regexp", "pattern", "unpack", "line_format", "label_format",
                             "drop", "keep", "decolorize", "unwrap"}) {
    if (name == s) return true;
  }
  return false;
}

// Recursive descent over the grammar in logql.h, one token of lookahead.
class Parser {
 public:
  explicit Parser(std::string_view in) : lex_(in) {}

  Result<Selector> Parse() {
    LOGE_RETURN_IF_ERROR(Advance());
    Selector s;
    if (tok_.kind == Tok::kLBrace) {
      LOGE_RETURN_IF_ERROR(ParseMatchers(&s));
    } else if (!IsLineFilterOp(tok_.kind)) {
      return lex_.Error(tok_.pos, "expected { or a line filter, found " + lex_.Describe(tok_));
    }
    for (;;) {
      if (IsLineFilterOp(tok_.kind)) {
        LOGE_RETURN_IF_ERROR(ParseLineFilter(&s));
      } else if (tok_.kind == Tok::kPipe) {
        LOGE_RETURN_IF_ERROR(ParseLabelFilter(&s));
      } else {
        break;
      }
    }
    if (tok_.kind != Tok::kEof) return lex_.Error(tok_.pos, "unexpected " + lex_.Describe(tok_) + " after selector");
    return s;
  }

 private:
  Status Advance() {
    LOGE_ASSIGN_OR_RETURN(tok_, lex_.Next());
    return Status::OK();
  }

  Status ExpectedString(const std::string& after) const {
    std::string what = "expected string after " + after;
    if (tok_.kind != Tok::kEof) what += ", found " + lex_.Describe(tok_);
    return lex_.Error(tok_.pos, what);
  }

  Status MissingBrace(size_t open) const {
    return lex_.Error(tok_.pos, "missing } to close { at " + lex_.Where(open));
  }

  // At `{`; returns past the matching `}`.
  Status ParseMatchers(Selector* s) {
    size_t open = tok_.pos;
    LOGE_RETURN_IF_ERROR(Advance());
    for (;;) {
      if (tok_.kind == Tok::kRBrace) return Advance();
      if (tok_.kind == Tok::kEof) return MissingBrace(open);
      if (tok_.kind != Tok::kIdent) {
        return lex_.Error(tok_.pos, "expected label name or }, found " + lex_.Describe(tok_));
      }
      std::string name = std::move(tok_.value);
      LOGE_RETURN_IF_ERROR(Advance());
      MatchType type;
      switch (tok_.kind) {
        case Tok::kEq: type = MatchType::kEq; break;
        case Tok::kNeq: type = MatchType::kNeq; break;
        case Tok::kRe: type = MatchType::kRe; break;
        case Tok::kNre: type = MatchType::kNre; break;
        default:
          return lex_.Error(tok_.pos, "expected =, !=, =~ or !~ after label name " + Printable(name, true) +
                                          ", found " + lex_.Describe(tok_));
      }
      LOGE_RETURN_IF_ERROR(Advance());
      if (tok_.kind != Tok::kString) return ExpectedString(MatchTypeName(type));
      auto m = LabelMatcher::Make(std::move(name), std::move(tok_.value), type);
      if (!m.ok()) return lex_.Error(tok_.pos, m.status().message());
      s->matchers.push_back(std::move(*m));
      LOGE_RETURN_IF_ERROR(Advance());
      if (tok_.kind == Tok::kComma) {
        LOGE_RETURN_IF_ERROR(Advance());
      } else if (tok_.kind == Tok::kEof) {
        return MissingBrace(open);
      } else if (tok_.kind != Tok::kRBrace) {
        return lex_.Error(tok_.pos, "expected , or } after matcher, found " + lex_.Describe(tok_));
      }
    }
  }

  // At `|` (alone); returns past the label filter's string.
  Status ParseLabelFilter(Selector* s) {
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind != Tok::kIdent) {
      return lex_.Error(tok_.pos, "expected a label filter (name =, !=, =~ or !~ \"value\") after |, found " +
                                      lex_.Describe(tok_) + " (parsers, formatters and |> are not supported)");
    }
    std::string name = std::move(tok_.value);
    const size_t name_pos = tok_.pos;
    LOGE_RETURN_IF_ERROR(Advance());
    MatchType type;
    if (!MatcherOp(tok_.kind, &type)) {
      if (IsUnsupportedStage(name)) {
        return lex_.Error(name_pos, "unsupported pipeline stage " + name +
                                        " (only line filters and label filters | name op \"value\" are supported)");
      }
      return lex_.Error(tok_.pos, "expected =, !=, =~ or !~ after label name " + Printable(name, true) +
                                      " in label filter, found " + lex_.Describe(tok_));
    }
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind != Tok::kString) return ExpectedString(MatchTypeName(type));
    auto m = LabelMatcher::Make(std::move(name), std::move(tok_.value), type);
    if (!m.ok()) return lex_.Error(tok_.pos, m.status().message());
    s->entry_filters.push_back(std::move(*m));
    return Advance();
  }

  // At a line filter operator; returns past its last string.
  Status ParseLineFilter(Selector* s) {
    LineFilterType type;
    const char* op;
    switch (tok_.kind) {
      case Tok::kPipeEq:
        type = LineFilterType::kContains;
        op = "|=";
        break;
      case Tok::kNeq:
        type = LineFilterType::kNotContains;
        op = "!=";
        break;
      case Tok::kPipeRe:
        type = LineFilterType::kRegex;
        op = "|~";
        break;
      default:
        type = LineFilterType::kNotRegex;
        op = "!~";
        break;
    }
    LOGE_RETURN_IF_ERROR(Advance());
    if (tok_.kind != Tok::kString) return ExpectedString(op);
    std::vector<std::string> needles;
    std::vector<size_t> positions;  // of each needle's string, for regex errors
    needles.push_back(std::move(tok_.value));
    positions.push_back(tok_.pos);
    LOGE_RETURN_IF_ERROR(Advance());
    while (tok_.kind == Tok::kIdent && tok_.value == "or") {
      LOGE_RETURN_IF_ERROR(Advance());
      if (tok_.kind != Tok::kString) return ExpectedString("or");
      needles.push_back(std::move(tok_.value));
      positions.push_back(tok_.pos);
      LOGE_RETURN_IF_ERROR(Advance());
    }
    auto f = LineFilter::Make(type, needles);
    if (!f.ok()) {
      // Only a regex fails; find the alternative to point at.
      for (size_t i = 0; i < needles.size(); i++) {
        auto one = LineFilter::Make(type, needles[i]);
        if (!one.ok()) return lex_.Error(positions[i], one.status().message());
      }
      return lex_.Error(positions[0], f.status().message());
    }
    s->line_filters.push_back(std::move(*f));
    return Status::OK();
  }

  Lexer lex_;
  Token tok_;  // the lookahead
};

// Reads a positive decimal of at most 9 digits at m[*i].
bool ReadPositive(const std::string& m, size_t* i, int* out) {
  size_t start = *i;
  int v = 0;
  while (*i < m.size() && m[*i] >= '0' && m[*i] <= '9' && *i - start < 9) v = v * 10 + (m[(*i)++] - '0');
  if (*i == start || v == 0) return false;
  *out = v;
  return true;
}

}  // namespace

Result<Selector> ParseSelector(std::string_view input) { return Parser(input).Parse(); }

std::pair<int, int> ErrorPosition(const Status& st) {
  const std::string& m = st.message();
  size_t i = 0;
  int line = 0, col = 0;
  if (!ReadPositive(m, &i, &line) || i >= m.size() || m[i++] != ':') return {0, 0};
  if (!ReadPositive(m, &i, &col) || m.compare(i, 2, ": ") != 0) return {0, 0};
  return {line, col};
}

}  // namespace loge::query
