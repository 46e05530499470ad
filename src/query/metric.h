// Metric queries: LogQL range aggregations over log queries, vector
// aggregations, binary operators, literals, vector() and label_replace,
// evaluated at Loki's steps with Loki's semantics.
//
// Steps: a range query evaluates at start, start+step, … ≤ end; an instant
// query once at `time`. A range aggregation at t covers (t - offset -
// range, t - offset]. Each range aggregation scans the stored rows once
// through the one scanner (scanner.h) and feeds every step it falls in; a
// count or bytes aggregation without filters or parsers counts a block
// from its header when the block lies in one set of windows.
//
// Thread-safety: pure evaluation over an Engine; call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "query/logql.h"

namespace loge::query {

struct MetricQuery {
  ExprPtr expr;          // a metric expression (not a log query)
  int64_t start = 0;     // ns; for an instant query, the evaluation time
  int64_t end = 0;       // ns, inclusive
  int64_t step = 0;      // ns; 0 for an instant query
  bool instant = false;
  // The most series an answer may hold (Loki's max_query_series): more is
  // an InvalidArgument naming the limit.
  size_t max_series = 500;
};

struct MetricSeries {
  Labels metric;                                  // sorted
  std::vector<std::pair<int64_t, double>> points;  // (ns, value), oldest first
};

struct MetricResult {
  enum class Type { kMatrix, kVector, kScalar };
  Type type = Type::kMatrix;
  std::vector<MetricSeries> series;  // kMatrix, kVector (one point each)
  double scalar = 0;                 // kScalar
  int64_t scalar_ts = 0;             // ns
  // From the scans: files, blocks, remote reads; partial when some remote
  // file could not be read (warnings name it).
  uint64_t files_opened = 0;
  uint64_t blocks_scanned = 0;
  uint64_t blocks_from_headers = 0;  // counted without decoding a row
  uint64_t rows_processed = 0;
  bool partial = false;
  std::vector<std::string> warnings;
};

// The most steps Engine::RunMetric evaluates: a backstop against memory
// exhaustion; the HTTP handlers hold Loki's tighter 11,000 points per series.
constexpr size_t kMaxSteps = 1 << 16;

// Loki's default step for a range: max(floor(range / 250), 1 s).
int64_t DefaultStep(int64_t start, int64_t end);

// floor((end - start) / step) without overflow; 0 when end <= start.
uint64_t StepsBetween(int64_t start, int64_t end, int64_t step);

// Rounds *start down and *end up to multiples of step (as Grafana and Loki
// align a range query); InvalidArgument when that would leave int64.
Status AlignToStep(int64_t step, int64_t* start, int64_t* end);

// InvalidArgument naming the parameter when a query's times, step, ranges
// or offsets are beyond what its evaluation can add without overflow
// (metric_bounds.cc gives the bounds, all years past any data). Called by
// Engine::RunMetric; handlers may call it to answer before planning.
Status CheckMetricBounds(const MetricQuery& q);

}  // namespace loge::query
