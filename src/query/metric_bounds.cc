// The time arithmetic of a metric query kept inside int64: default steps,
// point counts and step alignment for the HTTP handlers, and the bounds
// Engine::RunMetric checks before any step, range or offset is added.
#include <algorithm>
#include <cstdint>
#include <string>

#include "query/metric.h"

namespace loge::query {

namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;

// Times within ±2^62 ns (years 1823..2116): past any stored row, yet a
// window, step, range or offset added to one cannot leave int64.
constexpr int64_t kMaxTime = int64_t{1} << 62;
// A window (end - start) and a step up to 2^61 ns (73 years).
constexpr int64_t kMaxSpan = int64_t{1} << 61;
// A range or an offset up to 2^60 ns (36 years).
constexpr int64_t kMaxRange = int64_t{1} << 60;

// end - start as an unsigned count: exact for any end >= start.
uint64_t Span(int64_t start, int64_t end) { return static_cast<uint64_t>(end) - static_cast<uint64_t>(start); }

Status CheckRanges(const Expr& e) {
  if (e.kind == Expr::Kind::kRangeAgg) {
    if (e.range_ns <= 0 || e.range_ns > kMaxRange) {
      return Status::InvalidArgument("range: must be positive and at most 36 years");
    }
    if (e.offset_ns < -kMaxRange || e.offset_ns > kMaxRange) {
      return Status::InvalidArgument("offset: must be at most 36 years either way");
    }
  }
  if (e.lhs) LOGE_RETURN_IF_ERROR(CheckRanges(*e.lhs));
  if (e.rhs) LOGE_RETURN_IF_ERROR(CheckRanges(*e.rhs));
  return Status::OK();
}

}  // namespace

int64_t DefaultStep(int64_t start, int64_t end) {
  if (end <= start) return kNsPerSec;
  const uint64_t range_s = Span(start, end) / kNsPerSec;
  return static_cast<int64_t>(std::max<uint64_t>(range_s / 250, 1)) * kNsPerSec;
}

uint64_t StepsBetween(int64_t start, int64_t end, int64_t step) {
  if (end <= start || step <= 0) return 0;
  return Span(start, end) / static_cast<uint64_t>(step);
}

Status AlignToStep(int64_t step, int64_t* start, int64_t* end) {
  if (step <= 0) return Status::InvalidArgument("step: must be positive");
  // Round start down and end up to multiples of step (C++'s % keeps the
  // dividend's sign, hence the two cases).
  int64_t down = *start % step;
  if (down < 0) down += step;
  int64_t up = *end % step;
  up = up == 0 ? 0 : (up > 0 ? step - up : -up);
  int64_t s, e;
  if (__builtin_sub_overflow(*start, down, &s) || __builtin_add_overflow(*end, up, &e)) {
    return Status::InvalidArgument("start, end: out of range once aligned to the step");
  }
  *start = s;
  *end = e;
  return Status::OK();
}

Status CheckMetricBounds(const MetricQuery& q) {
  if (q.start < -kMaxTime || q.start > kMaxTime || q.end < -kMaxTime || q.end > kMaxTime) {
    return Status::InvalidArgument("start, end: out of range (years 1823 to 2116)");
  }
  if (!q.instant && q.step > 0) {
    if (q.end < q.start) return Status::InvalidArgument("end: before start");
    if (q.end - q.start > kMaxSpan || q.step > kMaxSpan) {
      return Status::InvalidArgument("start, end, step: a window or step over 73 years");
    }
    if (static_cast<uint64_t>((q.end - q.start) / q.step) >= kMaxSteps) {
      return Status::InvalidArgument("step: too small for the window (at most " + std::to_string(kMaxSteps) +
                                     " points per series)");
    }
  }
  if (!q.expr) return Status::InvalidArgument("query: empty");
  return CheckRanges(*q.expr);
}

}  // namespace loge::query
