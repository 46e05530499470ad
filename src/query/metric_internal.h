// Metric evaluation internals shared by metric_range.cc (range
// aggregations over the scanner) and metric_eval.cc (the expression tree).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "query/engine.h"
#include "query/metric.h"

namespace loge::query {

// The evaluation times: start + i*step for i < n (ns).
struct Steps {
  int64_t start = 0;
  int64_t step = 1;
  size_t n = 0;
  int64_t At(size_t i) const { return start + static_cast<int64_t>(i) * step; }
};

// One series over every step: v[i] is meaningful where has[i].
struct Series {
  Labels metric;
  std::vector<double> v;
  std::vector<uint8_t> has;
};
using Matrix = std::vector<Series>;

// How a range aggregation labels its samples (Loki's extractor grouping,
// possibly pushed down from an enclosing sum).
struct SampleGrouping {
  std::vector<std::string> groups;
  bool without = false;
  bool no_labels = false;
};

// Scans the rows of range aggregation `e` and computes its value per step.
// InvalidArgument (Loki's pipeline error) when a sample keeps __error__.
Result<Matrix> EvalRangeAgg(DataSource* source, int concurrency, const Expr& e, const SampleGrouping& g,
                            const Steps& steps, MetricResult* stats);

}  // namespace loge::query
