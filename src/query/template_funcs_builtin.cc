// Template functions on numbers (Sprig's int, add, div, round, …) and Go's
// builtins (eq, lt, and, or, not, len, printf, …).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "query/template_funcs_internal.h"

namespace loge::query::tmpl {

namespace {

// Go's int64 arithmetic: two's complement, wrapping on overflow (never the
// undefined behaviour of C++'s signed overflow).
int64_t WrapAdd(int64_t x, int64_t y) { return static_cast<int64_t>(static_cast<uint64_t>(x) + static_cast<uint64_t>(y)); }
int64_t WrapSub(int64_t x, int64_t y) { return static_cast<int64_t>(static_cast<uint64_t>(x) - static_cast<uint64_t>(y)); }
int64_t WrapMul(int64_t x, int64_t y) { return static_cast<int64_t>(static_cast<uint64_t>(x) * static_cast<uint64_t>(y)); }

template <typename F>
Result<TmplValue> FoldInts(const std::vector<TmplValue>& a, F f) {
  int64_t acc = CastInt(a[0]);
  for (size_t i = 1; i < a.size(); i++) acc = f(acc, CastInt(a[i]));
  return TmplValue(acc);
}

template <typename F>
Result<TmplValue> FoldFloats(const std::vector<TmplValue>& a, F f) {
  double acc = CastFloat(a[0]);
  for (size_t i = 1; i < a.size(); i++) acc = f(acc, CastFloat(a[i]));
  return TmplValue(acc);
}

}  // namespace

Result<TmplValue> FnInt([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return V(CastInt(a[0]));
}

Result<TmplValue> FnFloat64([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return V(CastFloat(a[0]));
}

Result<TmplValue> FnAdd([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  int64_t s = 0;
  for (const auto& v : a) s = WrapAdd(s, CastInt(v));
  return V(s);
}

Result<TmplValue> FnSub([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return V(WrapSub(CastInt(a[0]), CastInt(a[1])));
}

Result<TmplValue> FnMul([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return FoldInts(a, WrapMul);
}

Result<TmplValue> FnDiv([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  int64_t d = CastInt(a[1]);
  if (d == 0) return Status::InvalidArgument("runtime error: integer divide by zero");
  const int64_t x = CastInt(a[0]);
  // The one quotient past int64 (it traps on x86): Go answers x, remainder 0.
  if (d == -1) return V(nm == "div" ? WrapSub(0, x) : int64_t{0});
  return V(nm == "div" ? x / d : x % d);
}

Result<TmplValue> FnMax([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return FoldInts(a, [](int64_t x, int64_t y) { return std::max(x, y); });
}

Result<TmplValue> FnMin([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return FoldInts(a, [](int64_t x, int64_t y) { return std::min(x, y); });
}

Result<TmplValue> FnAddf([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  double s = 0;
  for (const auto& v : a) s += CastFloat(v);
  return V(s);
}

Result<TmplValue> FnSubf([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return FoldFloats(a, [](double x, double y) { return x - y; });
}

Result<TmplValue> FnMulf([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return FoldFloats(a, [](double x, double y) { return x * y; });
}

Result<TmplValue> FnDivf([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return FoldFloats(a, [](double x, double y) { return x / y; });
}

Result<TmplValue> FnMaxf([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return FoldFloats(a, [](double x, double y) { return std::max(x, y); });
}

Result<TmplValue> FnMinf([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return FoldFloats(a, [](double x, double y) { return std::min(x, y); });
}

Result<TmplValue> FnCeil([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return V(std::ceil(CastFloat(a[0])));
}

Result<TmplValue> FnFloor([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return V(std::floor(CastFloat(a[0])));
}

Result<TmplValue> FnRound([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  double v = CastFloat(a[0]);
  double p = std::pow(10.0, static_cast<double>(CastInt(a[1])));
  double half = a.size() > 2 ? CastFloat(a[2]) : 0.5;
  double x = v * p;
  double fl = std::floor(x);
  return V((x - fl >= half ? fl + 1 : fl) / p);
}

Result<TmplValue> FnFromJson([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return V(TmplNil{});
}

Result<TmplValue> FnDefault([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  // default DEFAULT GIVEN: GIVEN unless it is empty.
  if (a.size() >= 2 && Truth(a.back())) return a.back();
  return a[0];
}

Result<TmplValue> FnAnd([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  for (const auto& v : a) {
    if (!Truth(v)) return v;
  }
  return a.back();
}

Result<TmplValue> FnOr([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  for (const auto& v : a) {
    if (Truth(v)) return v;
  }
  return a.back();
}

Result<TmplValue> FnNot([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return V(!Truth(a[0]));
}

Result<TmplValue> FnLen([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  if (const auto* s = std::get_if<std::string>(&a[0])) return V(static_cast<int64_t>(s->size()));
  return Status::InvalidArgument("len of type " + std::string(TypeName(a[0])));
}

Result<TmplValue> FnPrint([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  std::string out;
  for (size_t i = 0; i < a.size(); i++) {
    bool both_strings = i > 0 && a[i].index() == 1 && a[i - 1].index() == 1;
    if (i > 0 && (nm == "println" || !both_strings)) out.push_back(' ');
    out += TmplToString(a[i]);
  }
  if (nm == "println") out.push_back('\n');
  if (nm == "urlquery") out = UrlEncode(out);
  return V(out);
}

Result<TmplValue> FnPrintf([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto f, Str(a, 0));
  return V(GoSprintf(f, std::vector<TmplValue>(a.begin() + 1, a.end())));
}

Result<TmplValue> FnEq([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  if (a.size() < 2) return Status::InvalidArgument("missing argument for comparison");
  for (size_t i = 1; i < a.size(); i++) {
    LOGE_ASSIGN_OR_RETURN(int c, Cmp(a[0], a[i], false));
    if (c == 0) return V(true);
  }
  return V(false);
}

Result<TmplValue> FnNe([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(int c, Cmp(a[0], a[1], nm != "ne"));
  if (nm == "ne") return V(c != 0);
  if (nm == "lt") return V(c < 0);
  if (nm == "le") return V(c <= 0);
  if (nm == "gt") return V(c > 0);
  return V(c >= 0);
}

Result<TmplValue> FnIndex([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 0));
  if (nm == "index") {
    if (a.size() == 1) return V(s);
    LOGE_ASSIGN_OR_RETURN(auto i, Int(a, 1));
    if (i < 0 || i >= static_cast<int64_t>(s.size())) return Status::InvalidArgument("index out of range");
    return V(static_cast<int64_t>(static_cast<unsigned char>(s[static_cast<size_t>(i)])));
  }
  int64_t lo = a.size() > 1 ? CastInt(a[1]) : 0;
  int64_t hi = a.size() > 2 ? CastInt(a[2]) : static_cast<int64_t>(s.size());
  if (lo < 0 || hi < lo || hi > static_cast<int64_t>(s.size())) return Status::InvalidArgument("slice out of range");
  return V(s.substr(static_cast<size_t>(lo), static_cast<size_t>(hi - lo)));
}

}  // namespace loge::query::tmpl
