// Metric queries over real segment files and the head: each function and
// operator against hand-computed answers, and count_over_time against a
// brute-force count (block-header counting included).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <random>

#include "io/file_system.h"
#include "query/engine.h"
#include "query/metric.h"
#include "storage/segment_writer.h"
#include "storage/segment_writer_v1.h"

namespace loge::query {
namespace {

constexpr int64_t kSec = 1'000'000'000;

struct Row {
  Labels labels;
  Entry e;
};

class Source : public DataSource {
 public:
  std::vector<Row> head;
  std::vector<FileRef> files;
  void Snapshot(const Query& q, TopK* top, std::vector<FileRef>* out) override {
    for (const auto& r : head) {
      if (q.MatchesLabels(r.labels) && q.InWindow(r.e.ts) && q.MatchesLine(r.e.line) && top->Admits(r.e.ts)) {
        top->Add(Hit{r.e.ts, r.e.line, LabelsToJson(r.labels), r.e.metadata});
      }
    }
    *out = files;
  }
  std::vector<std::string> LabelKeys() override { return {}; }
};

class MetricTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/metricXXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }

  // Writes rows as one file of the given segment format (2, or the old 1
  // that stays readable) and registers it.
  void AddFile(const std::vector<Row>& rows, int format = 2) {
    std::map<Labels, std::vector<Entry>> by;
    for (const auto& r : rows) by[r.labels].push_back(r.e);
    for (auto& [l, es] : by) {
      std::stable_sort(es.begin(), es.end(), [](const Entry& a, const Entry& b) { return a.ts < b.ts; });
    }
    std::string path = dir_ + "/f" + std::to_string(src_.files.size()) + ".sqlite.zst";
    storage::SegmentInfo info;
    if (format == 2) {
      storage::SegmentWriter w;
      for (auto& [l, es] : by) ASSERT_TRUE(w.AddStream(l, es).ok());
      ASSERT_TRUE(w.WriteFile(io::DefaultFileSystem(), path, 1, &info).ok());
    } else {
      storage::SegmentWriterV1 w;
      for (auto& [l, es] : by) ASSERT_TRUE(w.AddStream(l, es).ok());
      auto image = w.Finish(&info);
      ASSERT_TRUE(image.ok());
      ASSERT_TRUE(storage::WriteV1File(io::DefaultFileSystem(), path, *image).ok());
      info.format_version = 1;
    }
    storage::CatalogEntry e = storage::EntryFor(storage::FileKind::kSegment, path, info, 0);
    e.id = static_cast<int64_t>(src_.files.size()) + 1;
    src_.files.push_back(std::make_shared<storage::FileHandle>(e, path, nullptr));
  }

  Result<MetricResult> Eval(const std::string& q, int64_t start, int64_t end, int64_t step) {
    auto e = ParseExpr(q, ParseOptions{});
    if (!e.ok()) return e.status();
    MetricQuery mq;
    mq.expr = *e;
    mq.start = start;
    mq.end = end;
    mq.step = step;
    mq.instant = step == 0;
    Engine engine(EngineOptions{2}, &src_);
    return engine.RunMetric(mq);
  }

  // "{labels} t=v t=v; ..." for compact comparisons (t in seconds).
  std::string Show(const std::string& q, int64_t start, int64_t end, int64_t step) {
    auto r = Eval(q, start, end, step);
    if (!r.ok()) return "error: " + r.status().message();
    if (r->type == MetricResult::Type::kScalar) return "scalar " + std::to_string(r->scalar);
    std::string out;
    for (const auto& s : r->series) {
      if (!out.empty()) out += "; ";
      out += LabelsToJson(s.metric);
      for (const auto& [t, v] : s.points) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " %lld=%g", static_cast<long long>(t / kSec), v);
        out += buf;
      }
    }
    return out;
  }

  std::string dir_;
  Source src_;
};

// Six lines of two streams at 10 s..60 s, half in a file, half in the head.
class MetricTableTest : public MetricTest {
 protected:
  void SetUp() override {
    MetricTest::SetUp();
    const Labels web = {{"app", "web"}, {"host", "a"}};
    const Labels api = {{"app", "api"}, {"host", "b"}};
    std::vector<Row> rows = {
        {web, {10 * kSec, "level=info status=200 dur=1s bytes=100", ""}},
        {web, {20 * kSec, "level=error status=500 dur=3s bytes=300", ""}},
        {api, {30 * kSec, "level=info status=200 dur=2s bytes=50", R"({"trace_id":"t1"})"}},
    };
    AddFile(rows);
    src_.head = {
        {web, {40 * kSec, "level=error status=503 dur=5s bytes=500", ""}},
        {api, {50 * kSec, "level=info status=404 dur=4s bytes=x", ""}},
        {api, {60 * kSec, "level=warn status=200 dur=6s bytes=60", ""}},
    };
  }
};

TEST_F(MetricTableTest, EachFunctionAndOperatorGivesLokisAnswer) {
  auto check = [&](const std::string& q, int64_t start, int64_t end, int64_t step, const std::string& want) {
    SCOPED_TRACE(q);
    EXPECT_EQ(Show(q, start * kSec, end * kSec, step * kSec), want);
  };
  // Windows are (t - range, t].
  check(R"(count_over_time({app="web"}[30s]))", 30, 60, 30, R"({"app":"web","host":"a"} 30=2 60=1)");
  check(R"(sum(count_over_time({app=~".+"}[1m])))", 60, 60, 0, "{} 60=6");
  check(R"(sum by (app) (count_over_time({app=~".+"}[1m])))", 60, 60, 0, R"({"app":"api"} 60=3; {"app":"web"} 60=3)");
  check(R"(sum without (host) (count_over_time({app=~".+"} | trace_id="" [1m])))", 60, 60, 0,
        R"({"app":"api"} 60=2; {"app":"web"} 60=3)");
  check(R"(count_over_time({app="api"}[1m]))", 60, 60, 0,
        R"({"app":"api","host":"b"} 60=2; {"app":"api","host":"b","trace_id":"t1"} 60=1)");
  check(R"(rate({app="web"}[1m]))", 60, 60, 0, R"({"app":"web","host":"a"} 60=0.05)");
  check(R"(bytes_over_time({app="web"} |= "error" [1m]))", 60, 60, 0, R"({"app":"web","host":"a"} 60=78)");
  check(R"(sum_over_time({app="web"} | logfmt | unwrap bytes [1m]))", 60, 60, 0,
        R"({"app":"web","dur":"1s","host":"a","level":"info","status":"200"} 60=100; )"
        R"({"app":"web","dur":"3s","host":"a","level":"error","status":"500"} 60=300; )"
        R"({"app":"web","dur":"5s","host":"a","level":"error","status":"503"} 60=500)");
  check(R"(sum by (app) (sum_over_time({app="web"} | logfmt | unwrap bytes [1m])))", 60, 60, 0, R"({"app":"web"} 60=900)");
  check(R"(avg_over_time({app="web"} | logfmt | unwrap duration(dur) [1m]) by (app))", 60, 60, 0, R"({"app":"web"} 60=3)");
  check(R"(max_over_time({app=~".+"} | logfmt | unwrap duration(dur) [1m]) by (app))", 60, 60, 0,
        R"({"app":"api"} 60=6; {"app":"web"} 60=5)");
  check(R"(min_over_time({app=~".+"} | logfmt | unwrap duration(dur) [1m]) by ())", 60, 60, 0, "{} 60=1");
  check(R"(first_over_time({app="api"} | logfmt | unwrap duration(dur) [1m]) by (app))", 60, 60, 0, R"({"app":"api"} 60=2)");
  check(R"(last_over_time({app="api"} | logfmt | unwrap duration(dur) [1m]) by (app))", 60, 60, 0, R"({"app":"api"} 60=6)");
  check(R"(quantile_over_time(0.5, {app=~".+"} | logfmt | unwrap duration(dur) [1m]) by ())", 60, 60, 0, "{} 60=3.5");
  check(R"(stdvar_over_time({app="web"} | logfmt | unwrap duration(dur) [1m]) by ())", 60, 60, 0, "{} 60=2.66667");
  check(R"(absent_over_time({app="db"}[1m]))", 60, 60, 0, R"({"app":"db"} 60=1)");
  check(R"(absent_over_time({app="web"}[1m]))", 60, 60, 0, "");
  check(R"(count_over_time({app="web"}[10s] offset 20s))", 60, 60, 0, R"({"app":"web","host":"a"} 60=1)");
  // Vector aggregations and operators.
  check(R"(topk(1, sum by (app) (count_over_time({app=~".+"}[1m]))))", 60, 60, 0, R"({"app":"api"} 60=3)");
  check(R"(bottomk by (app) (1, count_over_time({app=~".+"}[1m])))", 60, 60, 0,
        R"({"app":"api","host":"b","trace_id":"t1"} 60=1; {"app":"web","host":"a"} 60=3)");
  check(R"(count(count_over_time({app=~".+"}[1m])))", 60, 60, 0, "{} 60=3");
  check(R"(sum(count_over_time({app=~".+"}[1m])) * 2 + 1)", 60, 60, 0, "{} 60=13");
  check(R"(sum by (app) (count_over_time({app=~".+"}[1m])) > 2)", 60, 60, 0, R"({"app":"api"} 60=3; {"app":"web"} 60=3)");
  check(R"(sum by (app) (count_over_time({app=~".+"}[1m])) > bool 5)", 60, 60, 0, R"({"app":"api"} 60=0; {"app":"web"} 60=0)");
  check(R"(sum by (app) (count_over_time({app=~".+"}[1m])) / on (app) sum by (app) (count_over_time({app=~".+"} |= "info" [1m])))",
        60, 60, 0, R"({"app":"api"} 60=1.5; {"app":"web"} 60=3)");
  check(R"(sum by (app) (count_over_time({app=~".+"}[1m])) and sum by (app) (count_over_time({app="web"}[1m])))", 60, 60, 0,
        R"({"app":"web"} 60=3)");
  check(R"(sum by (app) (count_over_time({app=~".+"}[1m])) unless sum by (app) (count_over_time({app="web"}[1m])))", 60, 60, 0,
        R"({"app":"api"} 60=3)");
  check(R"(sum by (app, host) (count_over_time({app=~".+"}[1m])) / ignoring (host) group_left sum by (app) (count_over_time({app=~".+"}[1m])))",
        60, 60, 0, R"({"app":"api","host":"b"} 60=1; {"app":"web","host":"a"} 60=1)");
  check("vector(1) + vector(1)", 60, 60, 0, "{} 60=2");
  check("42", 60, 60, 0, "scalar 42.000000");
  check("1.5", 0, 60, 30, "{} 0=1.5 30=1.5 60=1.5");
  check(R"q(label_replace(sum by (app) (count_over_time({app=~".+"}[1m])), "x", "y-$1", "app", "(w.*)"))q", 60, 60, 0,
        R"({"app":"api"} 60=3; {"app":"web","x":"y-web"} 60=3)");
}

TEST_F(MetricTableTest, ErrorsInSamplesFailTheQueryUnlessGroupedOrFiltered) {
  auto r = Eval(R"(sum_over_time({app="api"} | logfmt | unwrap bytes [1m]))", 60 * kSec, 60 * kSec, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("pipeline error: 'SampleExtractionErr'"), std::string::npos) << r.status().message();
  EXPECT_EQ(Show(R"(sum by (app) (sum_over_time({app="api"} | logfmt | unwrap bytes | __error__="" [1m])))", 60 * kSec,
                 60 * kSec, 0),
            R"({"app":"api"} 60=110)");
  // Grouping by __error__ keeps parser errors as a label instead.
  EXPECT_EQ(Show(R"(sum by (__error__) (count_over_time({app="api"} | json [1m])))", 60 * kSec, 60 * kSec, 0),
            R"({"__error__":"JSONParserErr"} 60=3)");
}

TEST_F(MetricTableTest, SeriesBeyondTheLimitAre400) {
  auto e = ParseExpr(R"(count_over_time({app=~".+"}[1m]))", ParseOptions{});
  ASSERT_TRUE(e.ok());
  MetricQuery mq;
  mq.expr = *e;
  mq.start = mq.end = 60 * kSec;
  mq.instant = true;
  mq.max_series = 2;
  Engine engine(EngineOptions{}, &src_);
  auto r = engine.RunMetric(mq);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("maximum number of series (2)"), std::string::npos);
}

// An entry pushed twice (same stream, time and line) counts once, as in
// Loki, whether the count reads rows (format 1 kept repeats) or only the
// times (format 2's writer drops them).
TEST_F(MetricTest, AnEntryPushedTwiceCountsOnceInBothFormats) {
  const Labels web = {{"app", "web"}};
  for (int format : {1, 2}) {
    std::vector<Row> rows;
    for (int i = 0; i < 600; i++) {
      const int64_t ts = (format * 1000 + i) * kSec / 10;
      rows.push_back({web, {ts, "line " + std::to_string(i), ""}});
      if (i % 3 == 0) rows.push_back({web, {ts, "line " + std::to_string(i), ""}});
    }
    AddFile(rows, format);
  }
  // (100 s, 200 s]: 599 rows of the format-1 file and the first of the
  // other; (200 s, 300 s]: the other 599.
  EXPECT_EQ(Show(R"(sum(count_over_time({app="web"}[100s])))", 200 * kSec, 400 * kSec, 100 * kSec),
            "{} 200=600 300=599");
}

TEST_F(MetricTest, CountAndBytesOverTimeMatchBruteForceAndCountBlocksFromHeadersInBothFormats) {
  std::mt19937_64 rng(7);
  const char* apps[] = {"web", "api", "db"};
  std::vector<Row> all;
  for (int f = 0; f < 4; f++) {
    std::vector<Row> rows;
    for (int i = 0; i < 3000; i++) {
      Row r;
      r.labels = {{"app", apps[rng() % 3]}};
      r.e.ts = static_cast<int64_t>(f * 3000 + i) * kSec / 10 + static_cast<int64_t>(rng() % 1000);
      r.e.line = std::string(rng() % 2 ? "error" : "ok") + " line " + std::to_string(i);
      if (rng() % 5 == 0) r.e.metadata = R"({"pod":"p)" + std::to_string(rng() % 3) + "\"}";
      rows.push_back(r);
      all.push_back(r);
    }
    AddFile(rows, f % 2 == 0 ? 2 : 1);  // both formats: headers count alike
  }
  for (int i = 0; i < 300; i++) {
    Row r{{{"app", "web"}}, {1200 * kSec + i * kSec / 3, "error head", ""}};
    src_.head.push_back(r);
    all.push_back(r);
  }
  for (const std::string& q : {std::string(R"(sum by (app) (count_over_time({app=~".+"}[5m])))"),
                               std::string(R"(sum by (app) (count_over_time({app=~".+"} |= "error" [1m])))"),
                               std::string(R"(sum by (app) (bytes_over_time({app=~".+"}[5m])))")}) {
    SCOPED_TRACE(q);
    const int64_t step = 60 * kSec, start = 0, end = 1320 * kSec;
    auto r = Eval(q, start, end, step);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const int64_t range = q.find("[5m]") != std::string::npos ? 300 * kSec : 60 * kSec;
    const bool filter = q.find("error") != std::string::npos;
    const bool bytes = q.find("bytes_over_time") != std::string::npos;
    std::map<std::string, std::map<int64_t, double>> want;
    for (const auto& row : all) {
      if (filter && row.e.line.find("error") == std::string::npos) continue;
      const double v = bytes ? static_cast<double>(row.e.line.size()) : 1;
      for (int64_t t = start; t <= end; t += step) {
        if (row.e.ts > t - range && row.e.ts <= t) want[row.labels[0].second][t] += v;
      }
    }
    std::map<std::string, std::map<int64_t, double>> got;
    for (const auto& s : r->series) {
      for (const auto& [t, v] : s.points) got[s.metric[0].second][t] = v;
    }
    EXPECT_EQ(got, want);
    if (!filter) {
      EXPECT_GT(r->blocks_from_headers, 0u);
    }
  }
}

}  // namespace
}  // namespace loge::query
