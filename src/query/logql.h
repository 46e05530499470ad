// LogQL stream selectors with line filters and label filters: the query
// text a user types.
//
//   selector     = [ "{" [ matcher { "," matcher } [ "," ] ] "}" ] { stage }
//   stage        = line_filter | label_filter
//   matcher      = label_name ( "=" | "!=" | "=~" | "!~" ) string
//   line_filter  = ( "|=" | "!=" | "|~" | "!~" ) string { "or" string }
//   label_filter = "|" label_name ( "=" | "!=" | "=~" | "!~" ) string
//   label_name  = [a-zA-Z_][a-zA-Z0-9_]*
//   string      = "…" with Go escapes | `…` raw, may span lines
//
// The brace block may be left out only when a line filter follows; `{}`
// selects every stream. Whitespace (space, tab, CR, LF) may sit between any
// two tokens. Label regexes are fully anchored, line regexes are not; both
// are RE2 in Go syntax.
//
// A label filter (`| trace_id="abc"`) is Loki's label filter stage on string
// labels: it matches per entry against the entry's structured metadata and
// its stream's labels (Query::MatchesEntry); a label the entry lacks matches
// as "". Stages are ANDed, so their order does not change the result.
//
// Thread-safety: pure functions; call from any thread.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "query/matcher.h"

namespace loge::query {

struct Selector {
  std::vector<LabelMatcher> matchers;     // all must hold
  std::vector<LineFilter> line_filters;   // all must hold, in order
  std::vector<LabelMatcher> entry_filters;  // label filter stages; all must hold
};

// Parses `{name op "value", ...} |= "x" != "y" |~ "re" !~ "re" |= "a" or "b" | name op "v"`.
// On bad input returns InvalidArgument whose message starts with the 1-based
// position, the column counted in bytes: `1:14: expected string after |=`.
Result<Selector> ParseSelector(std::string_view input);

// The {line, col} at the start of a ParseSelector error message ("1:14: …"),
// for drawing a caret under the input; {0, 0} when the message has none.
std::pair<int, int> ErrorPosition(const Status& st);

}  // namespace loge::query
