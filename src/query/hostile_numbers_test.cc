// Regression cases for what logql_fuzz found (commit ecb8eac): numbers past
// the range of their type in queries, JSON paths and templates. Each input
// once threw (std::stold, std::stoul), overflowed a signed integer or asked
// for gigabytes of padding; each must now be a clean InvalidArgument or a
// bounded answer. Run under the ASan/UBSan build (make test-asan) these
// also catch a return of the undefined behaviour.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "query/engine.h"
#include "query/logql.h"
#include "query/metric.h"

namespace loge::query {
namespace {

constexpr int64_t kSec = 1'000'000'000;
const Labels kStream = {{"app", "api"}};

// Parses q both ways (loge's errors and Loki's); a failure must be an
// InvalidArgument with a message. Returns the loge-style parse.
Result<ExprPtr> ParseBothWays(const std::string& q) {
  ParseOptions loki;
  loki.loki_errors = true;
  loki.require_matcher = true;
  auto l = ParseExpr(q, loki);
  if (!l.ok()) {
    EXPECT_EQ(l.status().code(), Code::kInvalidArgument);
    EXPECT_FALSE(l.status().message().empty());
  }
  auto e = ParseExpr(q, ParseOptions{});
  if (!e.ok()) {
    EXPECT_EQ(e.status().code(), Code::kInvalidArgument);
    EXPECT_FALSE(e.status().message().empty());
  }
  return e;
}

// The line `{app="api"} <stages>` makes of `line`, or "" when dropped.
std::string Render(const std::string& stages, const std::string& line) {
  auto sel = ParseSelector("{app=\"api\"} " + stages);
  EXPECT_TRUE(sel.ok()) << stages << ": " << sel.status().ToString();
  if (!sel.ok() || !sel->pipeline) return "";
  LabelsBuilder lb;
  lb.Reset(&kStream, nullptr);
  PipelineLine pl{line, {}};
  if (!sel->pipeline->Process(0, &pl, &lb)) return "";
  return std::string(pl.text);
}

// Unflushed rows only: the metric cases need no files.
class HeadOnly : public DataSource {
 public:
  void Snapshot(const Query& q, TopK* top, std::vector<FileRef>* /*files*/) override {
    for (int64_t t : {10 * kSec, 20 * kSec, 30 * kSec}) {
      const std::string line = "dur=1s n=99999999999999999999999 big=1e999";
      if (q.MatchesLabels(kStream) && q.InWindow(t) && q.MatchesLine(line) && top->Admits(t)) {
        top->Add(Hit{t, line, LabelsToJson(kStream), ""});
      }
    }
  }
  std::vector<std::string> LabelKeys() override { return {"app"}; }
};

TEST(HostileNumbers, OutOfRangeLiteralsInQueriesParseClampedOrFailCleanly) {
  for (const char* q : {
           R"({app="api"} | x > 1e999999)",
           R"({app="api"} | x > -1e999999)",
           R"({app="api"} | x > 99999999999999999999999999)",
           R"({app="api"} | x > 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFF)",
           R"({app="api"} | x > 99999999999999999999h)",
           R"({app="api"} | x > 9999999999999999999999PB)",
           R"({app="api"} | x > 1e999KiB)",
           R"({app="api"} | x < 1e999ms)",
           R"(count_over_time({app="api"}[99999999999999999999h]))",
           R"(count_over_time({app="api"}[1m] offset 99999999999999999999h))",
           R"(count_over_time({app="api"}[1m] offset -99999999999999999999h))",
           R"(topk(99999999999999999999, count_over_time({app="api"}[1m])))",
           R"(quantile_over_time(1e999, {app="api"} | logfmt | unwrap n [1m]))",
           R"(sum(count_over_time({app="api"}[1m])) * 1e999999 / 0)",
       }) {
    SCOPED_TRACE(q);
    (void)ParseBothWays(q);
  }
}

TEST(HostileNumbers, HugeJsonPathIndexFindsNothingInsteadOfThrowing) {
  // std::stoul threw out_of_range on an index beyond 64 bits.
  EXPECT_EQ(Render(R"(| json x="a[99999999999999999999999]" | line_format "<{{.x}}>")", R"({"a":[1,2]})"), "<>");
  EXPECT_EQ(Render(R"(| json x="a[18446744073709551615]" | line_format "<{{.x}}>")", R"({"a":[1,2]})"), "<>");
}

TEST(HostileNumbers, TemplatePaddingAndRepetitionAreCapped) {
  // Each asked for up to 1e9 bytes of padding; the answer stays bounded.
  auto check = [](const std::string& stages, size_t at_most) {
    SCOPED_TRACE(stages);
    std::string out = Render(stages, "x");
    EXPECT_LE(out.size(), at_most);
  };
  check(R"(| line_format "{{ printf \"%999999999d\" 1 | len }}")", 8);
  check(R"(| line_format "{{ printf \"%.999999999f\" 1.5 | len }}")", 8);
  check(R"(| line_format "{{ printf \"%*d\" 999999999 1 | len }}")", 8);
  check(R"(| line_format "{{ indent 999999999 \"a\" | len }}")", 8);
  check(R"(| line_format "{{ nindent 9223372036854775807 \"a\" | len }}")", 8);
  check(R"(| line_format "{{ alignLeft 999999999 \"a\" | len }}")", 8);
  check(R"(| line_format "{{ alignRight 9223372036854775807 \"a\" | len }}")", 8);
  check(R"(| line_format "{{ repeat 999999999 \"ab\" | len }}")", 8);
}

TEST(HostileNumbers, TemplateArithmeticAndTimesSaturateOrWrapNeverTrap) {
  // Times scaled to ns from user input saturate instead of overflowing.
  auto check = [](const std::string& stages, const std::string& line) {
    SCOPED_TRACE(stages + " on " + line);
    (void)Render(stages, line);  // no trap, no sanitizer report
  };
  check(R"(| logfmt | line_format "{{ unixToTime .t }}")", "t=99999999999999999999");
  check(R"(| logfmt | line_format "{{ unixToTime .t }}")", "t=9999999999");
  check(R"(| logfmt | line_format "{{ unixToTime .t }}")", "t=99999");
  check(R"(| logfmt | line_format "{{ date \"2006\" (int .t) }}")", "t=9223372036854775807");
  check(R"(| logfmt | line_format "{{ toDate \"2006-01-02\" .t | unixEpoch }}")", "t=99999-01-01");
  check(R"(| line_format "{{ int 1e300 }} {{ int -1e300 }} {{ trunc 1e300 \"abc\" }}")", "x");
  check(R"(| line_format "{{ substr -1e300 1e300 \"abc\" }} {{ round 1.5 9223372036854775807 }}")", "x");
  // Go's integers wrap on overflow (two's complement), as these do.
  EXPECT_EQ(Render(R"(| line_format "{{ add 9223372036854775807 1 }}")", "x"), "-9223372036854775808");
  EXPECT_EQ(Render(R"(| line_format "{{ sub -9223372036854775808 1 }}")", "x"), "9223372036854775807");
  EXPECT_EQ(Render(R"(| line_format "{{ mul 9223372036854775807 2 }}")", "x"), "-2");
  // The one division that traps on x86: Go defines it as the dividend.
  EXPECT_EQ(Render(R"(| line_format "{{ div -9223372036854775808 -1 }}")", "x"), "-9223372036854775808");
  EXPECT_EQ(Render(R"(| line_format "{{ mod -9223372036854775808 -1 }}")", "x"), "0");
}

TEST(HostileNumbers, MetricQueriesWithHugeRangesAndOffsetsAnswerOrFail) {
  HeadOnly src;
  Engine engine(EngineOptions{1}, &src);
  auto run = [&](const std::string& q, int64_t start, int64_t end, int64_t step) {
    SCOPED_TRACE(q);
    auto e = ParseBothWays(q);
    if (!e.ok()) return;
    MetricQuery mq;
    mq.expr = *e;
    mq.start = start;
    mq.end = end;
    mq.step = step;
    mq.instant = step == 0;
    auto r = engine.RunMetric(mq);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
    }
  };
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  run(R"(count_over_time({app="api"}[99999999999999999999h]))", 60 * kSec, 60 * kSec, 0);
  run(R"(count_over_time({app="api"}[1m] offset 99999999999999999999h))", 60 * kSec, 60 * kSec, 0);
  run(R"(count_over_time({app="api"}[1m] offset -99999999999999999999h))", 60 * kSec, 60 * kSec, 0);
  run(R"(count_over_time({app="api"}[1m]))", kMin, kMin, 0);
  run(R"(count_over_time({app="api"}[1m]))", kMax, kMax, 0);
  run(R"(count_over_time({app="api"}[1m]))", kMin, kMax, 1);
  run(R"(rate({app="api"}[1m]))", kMax - 120 * kSec, kMax, 60 * kSec);
  run(R"(topk(99999999999999999999, count_over_time({app="api"}[1m])))", 60 * kSec, 60 * kSec, 0);
  run(R"(bottomk(-1, count_over_time({app="api"}[1m])))", 60 * kSec, 60 * kSec, 0);
  run(R"(quantile_over_time(1e999, {app="api"} | logfmt | unwrap n [1m]))", 60 * kSec, 60 * kSec, 0);
  run(R"(sum_over_time({app="api"} | logfmt | unwrap big [1m]))", 60 * kSec, 60 * kSec, 0);
  run(R"(max_over_time({app="api"} | logfmt | unwrap duration(n) [1m]))", 60 * kSec, 60 * kSec, 0);
  run(R"(sum_over_time({app="api"} | logfmt | unwrap bytes(n) [1m]))", 60 * kSec, 60 * kSec, 0);

  // What the bounds turn away is named; what they let through still answers.
  auto named = [&](const std::string& q, int64_t start, int64_t end, int64_t step, const std::string& want) {
    SCOPED_TRACE(q);
    auto e = ParseExpr(q, ParseOptions{});
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    MetricQuery mq{*e, start, end, step, step == 0};
    auto r = engine.RunMetric(mq);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status().message();
  };
  named(R"(count_over_time({app="api"}[1m]))", kMax, kMax, 0, "start, end");
  named(R"(count_over_time({app="api"}[1m]))", 0, 60 * kSec, 1, "step: too small");
  named(R"(count_over_time({app="api"}[1m] offset 1000000h))", 60 * kSec, 60 * kSec, 0, "offset");
  auto ok = [&](const std::string& q) {
    auto e = ParseExpr(q, ParseOptions{});
    EXPECT_TRUE(e.ok());
    return e.ok() ? engine.RunMetric(MetricQuery{*e, 60 * kSec, 60 * kSec, 0, true}) : e.status();
  };
  auto r = ok(R"(count_over_time({app="api"}[1m] offset 10s))");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->series[0].points[0].second, 3);  // the rows at 10, 20 and 30 s lie in (-10 s, 50 s]
}

}  // namespace
}  // namespace loge::query
