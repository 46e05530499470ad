#include "core/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace loge {
namespace {

TEST(Histogram, CountsEachObservationInTheFirstBucketItFits) {
  Histogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 1.0, 7.0, 11.0, 100.0}) h.Observe(v);
  const Histogram::Snapshot s = h.Take();
  EXPECT_EQ(s.buckets, (std::vector<uint64_t>{2, 2, 1, 2}));  // le=0.1, le=1, le=10, +Inf
  EXPECT_EQ(s.count, 7u);
  EXPECT_DOUBLE_EQ(s.sum, 0.05 + 0.1 + 0.5 + 1.0 + 7.0 + 11.0 + 100.0);
}

TEST(Histogram, LosesNoObservationUnderConcurrentWriters) {
  Histogram h;
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; t++) {
    ts.emplace_back([&h, t] {
      for (int i = 0; i < kEach; i++) h.Observe(0.001 * (t + 1));
    });
  }
  // Snapshots while writers run never see more than was observed.
  for (int i = 0; i < 100; i++) EXPECT_LE(h.Take().count, uint64_t{kThreads * kEach});
  for (auto& t : ts) t.join();
  const Histogram::Snapshot s = h.Take();
  EXPECT_EQ(s.count, uint64_t{kThreads * kEach});
  EXPECT_NEAR(s.sum, kEach * 0.001 * (1 + 2 + 3 + 4), 1e-6);
}

TEST(MetricsWriter, WritesTheTextFormatWithCumulativeBuckets) {
  Histogram h({0.5, 2});
  h.Observe(0.25);
  h.Observe(1);
  h.Observe(3);
  MetricsWriter w;
  w.Family("x_total", "counter", "Lines \\ seen\nsince start.");
  w.Sample("x_total", 42, {{"path", "a\"b\\c\nd"}});
  w.Family("lat_seconds", "histogram", "Latency.");
  w.HistogramSamples("lat_seconds", h.Take(), {{"endpoint", "/q"}});
  EXPECT_EQ(w.Take(),
            "# HELP x_total Lines \\\\ seen\\nsince start.\n"
            "# TYPE x_total counter\n"
            "x_total{path=\"a\\\"b\\\\c\\nd\"} 42\n"
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{endpoint=\"/q\",le=\"0.5\"} 1\n"
            "lat_seconds_bucket{endpoint=\"/q\",le=\"2\"} 2\n"
            "lat_seconds_bucket{endpoint=\"/q\",le=\"+Inf\"} 3\n"
            "lat_seconds_sum{endpoint=\"/q\"} 4.25\n"
            "lat_seconds_count{endpoint=\"/q\"} 3\n");
}

TEST(MetricsWriter, FormatsNumbersAsPrometheusReadsThem) {
  EXPECT_EQ(MetricsWriter::FormatNumber(0), "0");
  EXPECT_EQ(MetricsWriter::FormatNumber(12345678901234), "12345678901234");
  EXPECT_EQ(MetricsWriter::FormatNumber(0.00025), "0.00025");
  EXPECT_EQ(MetricsWriter::FormatNumber(1.5e300), "1.5e+300");
  EXPECT_EQ(MetricsWriter::FormatNumber(1.0 / 0.0), "+Inf");
  EXPECT_EQ(MetricsWriter::FormatNumber(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(MetricsWriter::FormatNumber(0.0 / 0.0), "NaN");
}

}  // namespace
}  // namespace loge
