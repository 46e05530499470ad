// The LogQL lexer: tokens as Loki's lexer cuts them (durations, byte sizes,
// ranges `[5m]`, parser flags `--strict`, function names only before `(`),
// with byte positions for error messages. Internal to query/.
//
// Thread-safety: one lexer per parse.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "query/logql.h"

namespace loge::query {

enum class Tok {
  kEof,
  kLBrace, kRBrace, kLParen, kRParen, kComma, kDot,
  kIdent,     // a name; keywords are kKeyword
  kKeyword,   // by without bool on ignoring group_left group_right offset unwrap json logfmt regexp
              // pattern unpack line_format label_format decolorize drop keep or and unless
  kFunc,      // a function name followed by `(` (or `by`/`without` then `(`): sum, rate, ip, ...
  kString,    // "…" or `…`
  kNumber,
  kDuration,  // 5m, 1.5s, 250ms
  kBytes,     // 10KB, 1MiB
  kRange,     // [5m]
  kFlag,      // --strict, --keep-empty
  kEq, kNeq, kRe, kNre, kNpa,             // = != =~ !~ !>
  kPipeExact, kPipeMatch, kPipePattern,   // |= |~ |>
  kPipe,                                  // |
  kCmpEq, kGt, kGte, kLt, kLte,           // == > >= < <=
  kAdd, kSub, kMul, kDiv, kMod, kPow,     // + - * / % ^
  kInvalid,   // a byte that starts no token
};

struct Token {
  Tok kind = Tok::kEof;
  size_t pos = 0;     // byte offset of the first byte
  size_t end = 0;     // one past the last byte
  std::string value;  // kIdent/kKeyword/kFunc (lower-cased for keywords and functions), kString, kFlag, number text
  double number = 0;  // kNumber
  int64_t dur = 0;    // kDuration, kRange (ns)
  uint64_t bytes = 0; // kBytes
};

class Lexer {
 public:
  explicit Lexer(std::string_view in) : in_(in) {}

  Result<Token> Next();

  // "L:C" of a byte offset, both 1-based, the column counted in bytes.
  std::string Where(size_t pos) const;
  std::pair<int, int> LineCol(size_t pos) const;
  Status Error(size_t pos, const std::string& what) const;
  std::string_view Raw(const Token& t) const { return in_.substr(t.pos, t.end - t.pos); }
  // How a token reads in "found …": `"}"`, `string "abc"`, `end of input`.
  std::string Describe(const Token& t) const;
  // Loki's (yacc's) name of a token: `)`, `STRING`, `SUM`, `$end`.
  std::string LokiName(const Token& t) const;
  std::string_view input() const { return in_; }
  // The message of the last lexing error that Loki reports without a
  // position ("unknown unit ..."), and where it was.
  bool range_error() const { return range_error_; }

 private:
  Result<Token> LexQuoted(size_t start);
  Result<Token> LexRaw(size_t start);
  Status LexEscape(size_t start, size_t* i, std::string* out) const;
  Result<Token> LexNumber(size_t start);
  Result<Token> LexRange(size_t start);
  bool FollowedByCall(size_t from) const;

  std::string_view in_;
  size_t i_ = 0;
  bool range_error_ = false;
};

// Input bytes as they may appear in a one-line message: printable ASCII as
// is, anything else as \xHH, cut after 32 bytes.
std::string Printable(std::string_view s, bool escape_quotes);

}  // namespace loge::query
