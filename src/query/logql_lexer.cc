#include "query/logql_lexer.h"

#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <string>

#include "core/utf8.h"

namespace loge::query {

namespace {

// Longest piece of the input quoted in an error message: enough to recognise
// the token, short enough to keep the message on one terminal line.
constexpr size_t kMaxQuoted = 32;

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsPrintable(char c) { return c >= 0x20 && c < 0x7f; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Keywords Loki's lexer always reads as such (case-insensitive).
constexpr std::string_view kKeywords[] = {
    "by", "without", "bool", "on", "ignoring", "group_left", "group_right", "offset", "unwrap", "json",
    "logfmt", "regexp", "pattern", "unpack", "line_format", "label_format", "decolorize", "drop", "keep",
    "or", "and", "unless",
};
// Names that are functions when a call follows, identifiers otherwise.
constexpr std::string_view kFunctions[] = {
    "rate", "rate_counter", "count_over_time", "bytes_rate", "bytes_over_time", "avg_over_time",
    "sum_over_time", "min_over_time", "max_over_time", "stdvar_over_time", "stddev_over_time",
    "quantile_over_time", "first_over_time", "last_over_time", "absent_over_time", "vector", "sum", "avg",
    "max", "min", "count", "stddev", "stdvar", "bottomk", "topk", "sort", "sort_desc", "label_replace",
    "bytes", "duration", "duration_seconds", "ip",
};

// A decimal number without exceptions (strtold: "." is 0, overflow is inf).
long double Num(const std::string& s) { return std::strtold(s.c_str(), nullptr); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsDurationRune(char c) {
  switch (c) {
    case 'n': case 'u': case 'm': case 's': case 'h': case 'd': case 'w': case 'y': return true;
    default: return false;
  }
}

bool IsBytesRune(char c) {
  switch (c) {
    case 'B': case 'i': case 'k': case 'K': case 'M': case 'G': case 'T': case 'P': return true;
    default: return false;
  }
}

}  // namespace

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

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "\"";
}

Result<int64_t> ParsePromDuration(std::string_view s) {
  auto bad = [&] { return Status::InvalidArgument("not a valid duration string: \"" + std::string(s) + "\""); };
  if (s.empty()) return Status::InvalidArgument("empty duration string");
  if (s == "0") return int64_t{0};
  size_t i = 0;
  long double total = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && IsDigit(s[i])) i++;
    if (i == start) return bad();
    long double v = Num(std::string(s.substr(start, i - start)));
    size_t u = i;
    while (u < s.size() && !IsDigit(s[u])) u++;
    std::string_view unit = s.substr(i, u - i);
    long double mult;
    if (unit == "ms") mult = 1e6L;
    else if (unit == "s") mult = 1e9L;
    else if (unit == "m") mult = 60e9L;
    else if (unit == "h") mult = 3600e9L;
    else if (unit == "d") mult = 86400e9L;
    else if (unit == "w") mult = 7 * 86400e9L;
    else if (unit == "y") mult = 365 * 86400e9L;
    else if (unit.empty()) return bad();
    else return Status::InvalidArgument("unknown unit \"" + std::string(unit) + "\" in duration \"" + std::string(s) + "\"");
    total += v * mult;
    i = u;
  }
  if (total > 9.2e18L) return Status::InvalidArgument("duration out of range");
  return static_cast<int64_t>(total);
}

std::pair<int, int> Lexer::LineCol(size_t pos) const {
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < pos && i < in_.size(); i++) {
    if (in_[i] == '\n') {
      line++;
      line_start = i + 1;
    }
  }
  return {line, static_cast<int>(pos - line_start + 1)};
}

std::string Lexer::Where(size_t pos) const {
  auto [l, c] = LineCol(pos);
  return std::to_string(l) + ":" + std::to_string(c);
}

Status Lexer::Error(size_t pos, const std::string& what) const {
  return Status::InvalidArgument(Where(pos) + ": " + what);
}

std::string Lexer::Describe(const Token& t) const {
  std::string_view raw = Raw(t);
  switch (t.kind) {
    case Tok::kEof: return "end of input";
    case Tok::kString: return "string " + Printable(raw, false);
    default: return "\"" + Printable(raw, true) + "\"";
  }
}

std::string Lexer::LokiName(const Token& t) const {
  switch (t.kind) {
    case Tok::kEof: return "$end";
    case Tok::kIdent: return "IDENTIFIER";
    case Tok::kString: return "STRING";
    case Tok::kNumber: return "NUMBER";
    case Tok::kDuration: return "DURATION";
    case Tok::kBytes: return "BYTES";
    case Tok::kRange: return "RANGE";
    case Tok::kFlag: return "FUNCTION_FLAG";
    case Tok::kFunc: {
      if (t.value == "ip") return "ip";
      if (t.value == "label_replace") return "label_replace";
      if (t.value == "bytes") return "BYTES_CONV";
      if (t.value == "duration") return "DURATION_CONV";
      if (t.value == "duration_seconds") return "DURATION_SECONDS_CONV";
      std::string up = t.value;
      for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return up;
    }
    case Tok::kKeyword: return t.value;
    default: return std::string(Raw(t));
  }
}

// True when the next non-space input after `from` is `(`, or `by`/`without`
// and then `(` (Loki's isFunction).
bool Lexer::FollowedByCall(size_t from) const {
  size_t i = from;
  while (i < in_.size() && IsSpace(in_[i])) i++;
  if (i < in_.size() && in_[i] == '(') return true;
  size_t j = i;
  while (j < in_.size() && IsIdentChar(in_[j])) j++;
  std::string w = Lower(in_.substr(i, j - i));
  if (w != "by" && w != "without") return false;
  while (j < in_.size() && IsSpace(in_[j])) j++;
  return j < in_.size() && in_[j] == '(';
}

Result<Token> Lexer::Next() {
  for (;;) {
    while (i_ < in_.size() && IsSpace(in_[i_])) i_++;
    if (i_ < in_.size() && in_[i_] == '#') {
      while (i_ < in_.size() && in_[i_] != '\n') i_++;
      continue;
    }
    break;
  }
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
    case '(': t.kind = Tok::kLParen; break;
    case ')': t.kind = Tok::kRParen; break;
    case ',': t.kind = Tok::kComma; break;
    case '+': t.kind = Tok::kAdd; break;
    case '*': t.kind = Tok::kMul; break;
    case '/': t.kind = Tok::kDiv; break;
    case '%': t.kind = Tok::kMod; break;
    case '^': t.kind = Tok::kPow; break;
    case '[': return LexRange(i_);
    case '.':
      if (IsDigit(next)) return LexNumber(i_);
      t.kind = Tok::kDot;
      break;
    case '-':
      if (next == '-') {
        size_t j = i_ + 2;
        while (j < in_.size() && (std::isalpha(static_cast<unsigned char>(in_[j])) || in_[j] == '-')) j++;
        std::string flag(in_.substr(i_, j - i_));
        if (flag == "--strict" || flag == "--keep-empty") {
          t.kind = Tok::kFlag;
          t.value = flag;
          len = j - i_;
          break;
        }
      }
      if (IsDigit(next)) {
        // A negative duration (offset -1h); otherwise the minus stands alone.
        size_t j = i_ + 1;
        while (j < in_.size() && (IsDigit(in_[j]) || IsDurationRune(in_[j]) || in_[j] == '.')) j++;
        std::string_view text = in_.substr(i_ + 1, j - i_ - 1);
        bool has_unit = false;
        for (char d : text) has_unit = has_unit || IsDurationRune(d);
        auto d = has_unit ? ParsePromDuration(text) : Result<int64_t>(Status::InvalidArgument(""));
        if (d.ok()) {
          t.kind = Tok::kDuration;
          t.dur = -*d;
          len = j - i_;
          break;
        }
      }
      t.kind = Tok::kSub;
      break;
    case '=':
      if (next == '~') {
        t.kind = Tok::kRe;
        len = 2;
      } else if (next == '=') {
        t.kind = Tok::kCmpEq;
        len = 2;
      } else {
        t.kind = Tok::kEq;
      }
      break;
    case '!':
      if (next == '=') {
        t.kind = Tok::kNeq;
        len = 2;
      } else if (next == '~') {
        t.kind = Tok::kNre;
        len = 2;
      } else if (next == '>') {
        t.kind = Tok::kNpa;
        len = 2;
      } else {
        t.kind = Tok::kInvalid;
      }
      break;
    case '|':
      if (next == '=') {
        t.kind = Tok::kPipeExact;
        len = 2;
      } else if (next == '~') {
        t.kind = Tok::kPipeMatch;
        len = 2;
      } else if (next == '>') {
        t.kind = Tok::kPipePattern;
        len = 2;
      } else {
        t.kind = Tok::kPipe;
      }
      break;
    case '>':
      if (next == '=') {
        t.kind = Tok::kGte;
        len = 2;
      } else {
        t.kind = Tok::kGt;
      }
      break;
    case '<':
      if (next == '=') {
        t.kind = Tok::kLte;
        len = 2;
      } else {
        t.kind = Tok::kLt;
      }
      break;
    case '"': return LexQuoted(i_);
    case '`': return LexRaw(i_);
    default:
      if (IsDigit(c)) return LexNumber(i_);
      if (IsIdentStart(c)) {
        while (i_ + len < in_.size() && IsIdentChar(in_[i_ + len])) len++;
        std::string word(in_.substr(i_, len));
        std::string lower = Lower(word);
        t.kind = Tok::kIdent;
        t.value = word;
        for (auto f : kFunctions) {
          if (lower == f && FollowedByCall(i_ + len)) {
            t.kind = Tok::kFunc;
            t.value = lower;
          }
        }
        if (t.kind == Tok::kIdent) {
          for (auto k : kKeywords) {
            if (lower == k) {
              t.kind = Tok::kKeyword;
              t.value = lower;
            }
          }
        }
      } else {
        t.kind = Tok::kInvalid;
      }
  }
  i_ += len;
  t.end = i_;
  return t;
}

// A number, then Loki's attempt to read it as a duration or a byte size.
Result<Token> Lexer::LexNumber(size_t start) {
  size_t i = start;
  bool hex = in_.substr(i).starts_with("0x") || in_.substr(i).starts_with("0X");
  if (hex) {
    i += 2;
    while (i < in_.size() && std::isxdigit(static_cast<unsigned char>(in_[i]))) i++;
  } else {
    while (i < in_.size() && IsDigit(in_[i])) i++;
    if (i < in_.size() && in_[i] == '.') {
      i++;
      while (i < in_.size() && IsDigit(in_[i])) i++;
    }
    if (i < in_.size() && (in_[i] == 'e' || in_[i] == 'E')) {
      size_t j = i + 1;
      if (j < in_.size() && (in_[j] == '+' || in_[j] == '-')) j++;
      if (j < in_.size() && IsDigit(in_[j])) {
        while (j < in_.size() && IsDigit(in_[j])) j++;
        i = j;
      }
    }
  }
  Token t;
  t.pos = start;
  std::string num(in_.substr(start, i - start));
  // Duration: more digits, units and dots up to a space.
  size_t j = i;
  while (j < in_.size() && (IsDigit(in_[j]) || IsDurationRune(in_[j]) || in_[j] == '.' ||
                            in_.substr(j).starts_with("\xc2\xb5"))) {
    j += in_.substr(j).starts_with("\xc2\xb5") ? 2 : 1;
  }
  if (j > i) {
    std::string text(in_.substr(start, j - start));
    auto d = ParsePromDuration(text);
    if (!d.ok()) {
      // Go's time.ParseDuration takes fractions and µs.
      size_t k = 0;
      bool ok = true;
      long double total = 0;
      while (k < text.size() && ok) {
        size_t s = k;
        while (k < text.size() && (IsDigit(text[k]) || text[k] == '.')) k++;
        if (s == k) {
          ok = false;
          break;
        }
        long double v = Num(text.substr(s, k - s));
        size_t u = k;
        while (u < text.size() && !IsDigit(text[u]) && text[u] != '.') u++;
        std::string unit = text.substr(k, u - k);
        long double m = unit == "ns" ? 1 : (unit == "us" || unit == "\xc2\xb5s") ? 1e3L : unit == "ms" ? 1e6L
                      : unit == "s" ? 1e9L : unit == "m" ? 60e9L : unit == "h" ? 3600e9L : -1;
        if (m < 0) ok = false;
        total += v * m;
        k = u;
      }
      if (ok && total < 9.2e18L) d = static_cast<int64_t>(total);
    }
    if (d.ok()) {
      t.kind = Tok::kDuration;
      t.dur = *d;
      i_ = j;
      t.end = j;
      t.value = text;
      return t;
    }
  }
  j = i;
  while (j < in_.size() && (IsDigit(in_[j]) || IsBytesRune(in_[j]) || in_[j] == '.')) j++;
  if (j > i) {
    std::string text(in_.substr(start, j - start));
    // go-humanize: number then unit.
    size_t k = 0;
    while (k < text.size() && (IsDigit(text[k]) || text[k] == '.')) k++;
    std::string unit = Lower(text.substr(k));
    static const std::pair<const char*, long double> kUnits[] = {
        {"b", 1}, {"kib", 1024.0L}, {"kb", 1e3L}, {"mib", 1048576.0L}, {"mb", 1e6L}, {"gib", 1073741824.0L},
        {"gb", 1e9L}, {"tib", 1099511627776.0L}, {"tb", 1e12L}, {"pib", 1125899906842624.0L}, {"pb", 1e15L},
        {"ki", 1024.0L}, {"k", 1e3L}, {"mi", 1048576.0L}, {"m", 1e6L}, {"gi", 1073741824.0L}, {"g", 1e9L},
        {"ti", 1099511627776.0L}, {"t", 1e12L}, {"pi", 1125899906842624.0L}, {"p", 1e15L},
    };
    for (const auto& [name, mult] : kUnits) {
      if (unit == name && k > 0) {
        t.kind = Tok::kBytes;
        long double b = Num(text.substr(0, k)) * mult;
        t.bytes = b >= 1.8e19L ? UINT64_MAX : static_cast<uint64_t>(b);
        i_ = j;
        t.end = j;
        t.value = text;
        return t;
      }
    }
  }
  t.kind = Tok::kNumber;
  t.value = num;
  t.number = hex ? static_cast<double>(std::strtoull(num.c_str(), nullptr, 16)) : std::strtod(num.c_str(), nullptr);
  i_ = i;
  t.end = i;
  return t;
}

Result<Token> Lexer::LexRange(size_t start) {
  size_t close = in_.find(']', start + 1);
  Token t;
  t.pos = start;
  if (close == std::string_view::npos) {
    range_error_ = true;
    return Error(start, "missing closing ']' in duration");
  }
  std::string_view text = in_.substr(start + 1, close - start - 1);
  auto d = ParsePromDuration(text);
  if (!d.ok()) {
    range_error_ = true;
    return Error(start, d.status().message());
  }
  t.kind = Tok::kRange;
  t.dur = *d;
  t.value = std::string(text);
  i_ = close + 1;
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

}  // namespace loge::query
