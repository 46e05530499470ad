// Internals of the template functions shared by template_funcs.cc (strings,
// time, Loki's own) and template_funcs_builtin.cc (numbers and Go's builtins).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "query/template_funcs.h"

namespace loge::query::tmpl {

using V = TmplValue;

const char* TypeName(const TmplValue& v);
Status WrongType(size_t i, const char* want, const TmplValue& got);
// Argument i as Go's typed parameters take it: a string, an int, a time.
Result<std::string> Str(const std::vector<TmplValue>& a, size_t i);
Result<int64_t> Int(const std::vector<TmplValue>& a, size_t i);
// Sprig's cast.ToInt64 / ToFloat64: strings parse (0 on failure), floats
// truncate, bools are 0/1.
int64_t CastInt(const TmplValue& v);
int64_t ToInt64(double d);
double CastFloat(const TmplValue& v);
// Go's template truth.
bool Truth(const TmplValue& v);
// Go's template comparison: -1, 0, 1; an error for incompatible kinds.
Result<int> Cmp(const TmplValue& a, const TmplValue& b, bool ordered);
std::string UrlEncode(const std::string& s);

Result<TmplValue> FnInt(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnFloat64(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnAdd(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnSub(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnMul(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnDiv(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnMax(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnMin(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnAddf(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnSubf(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnMulf(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnDivf(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnMaxf(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnMinf(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnCeil(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnFloor(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnRound(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnFromJson(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnDefault(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnAnd(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnOr(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnNot(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnLen(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnPrint(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnPrintf(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnEq(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnNe(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);
Result<TmplValue> FnIndex(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);

}  // namespace loge::query::tmpl
