// The functions line_format and label_format templates may call: Loki's own
// (ToLower, regexReplaceAll, duration, bytes, unixEpochMillis, alignLeft,
// ...), the Sprig ones Loki registers (lower, trunc, replace, int, div,
// date, default, ...) and Go's builtins (eq, lt, and, or, not, len, printf,
// ...), with Go's argument conversions.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "query/template.h"

namespace loge::query {

struct TmplFuncInfo {
  const char* name;
  int min_args;
  int max_args;  // -1: variadic
};

// The function named `name`, or null when templates do not know it.
const TmplFuncInfo* FindTmplFunc(std::string_view name);

struct TmplCallContext {
  std::string_view line;  // __line__
  int64_t ts = 0;         // __timestamp__
};

// Calls the function; InvalidArgument with Go's wording on a wrong argument.
Result<TmplValue> CallTmplFunc(const std::string& name, const std::vector<TmplValue>& args,
                               const TmplCallContext& ctx);

}  // namespace loge::query
