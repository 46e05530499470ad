// Metrics: a lock-free latency histogram and a writer of the Prometheus text
// exposition format (version 0.0.4), for GET /metrics (server/) and the
// layers that time their own work (wal/ fsyncs, store/ flushes).
//
// Thread-safety: Histogram::Observe and Histogram::Take may run on any
// threads at once (relaxed atomics: a snapshot taken while observations
// land may miss the newest ones, never tear one). MetricsWriter is one per
// thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loge {

class Histogram {
 public:
  // Upper bounds (Prometheus' `le`) of the buckets, ascending; a last +Inf
  // bucket is implied. Empty: kLatencyBounds.
  explicit Histogram(std::vector<double> bounds = {});
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Seconds (or any unit the bounds use) of one event. Never blocks.
  void Observe(double v);

  struct Snapshot {
    std::vector<double> bounds;      // as constructed, without +Inf
    std::vector<uint64_t> buckets;   // per bound, then +Inf; not cumulative
    uint64_t count = 0;              // sum of buckets
    double sum = 0;
  };
  Snapshot Take() const;

  // Latencies from 100 us to 60 s, for pushes, fsyncs, flushes and queries.
  static const std::vector<double>& LatencyBounds();

 private:
  const std::vector<double> bounds_;
  const std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Seconds since `t0` of a steady clock, for Histogram::Observe.
double SecondsSince(int64_t t0_steady_ns);
int64_t SteadyNanos();

// Builds a text exposition: a family's `# HELP` and `# TYPE` lines once,
// then its samples. Label values are escaped (\\, \", \n); names are the
// caller's constants.
class MetricsWriter {
 public:
  using LabelPairs = std::vector<std::pair<std::string, std::string>>;
  // type: "counter", "gauge" or "histogram".
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, double value, const LabelPairs& labels = {});
  // Writes <name>_bucket{…,le="…"} (cumulative), <name>_sum and <name>_count.
  void HistogramSamples(std::string_view name, const Histogram::Snapshot& h, const LabelPairs& labels = {});

  std::string Take() { return std::move(out_); }

  // Prometheus' number text: integers without a fraction, +Inf, -Inf, NaN.
  static std::string FormatNumber(double v);

 private:
  void Labels(const LabelPairs& labels, std::string_view le);
  std::string out_;
};

}  // namespace loge
