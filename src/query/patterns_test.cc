#include "query/patterns.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace loge::query {
namespace {

constexpr int64_t kSec = 1'000'000'000;

uint64_t SampleSum(const PatternSeries& s) {
  uint64_t n = 0;
  for (const auto& [t, c] : s.samples) n += c;
  return n;
}

TEST(PatternMinerTest, OneTemplateWithVaryingIdsIsOnePatternWithWildcards) {
  PatternMiner m(10 * kSec);
  for (int i = 0; i < 50; i++) {
    std::string line = "user " + std::to_string(1000 + i * 7) + " logged in from 10.0.0." + std::to_string(i);
    ASSERT_TRUE(m.Add(line, "info", i * kSec));
  }
  auto out = m.Take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].pattern, "user <_> logged in from <_>");
  EXPECT_EQ(out[0].level, "info");
  EXPECT_EQ(out[0].total, 50u);
}

TEST(PatternMinerTest, LogfmtValuesVaryWhileKeysStayLiteral) {
  PatternMiner m(kSec);
  const char* users[] = {"alice", "bob", "carol", "dave"};
  for (int i = 0; i < 40; i++) {
    std::string line = "level=info msg=\"request done\" user=" + std::string(users[i % 4]) +
                       " duration=" + std::to_string(i) + "ms";
    m.Add(line, "info", i * kSec);
  }
  auto out = m.Take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].pattern, "level=info msg=\"request done\" user=<_> duration=<_>");
}

TEST(PatternMinerTest, DifferentTemplatesStayApart) {
  PatternMiner m(kSec);
  for (int i = 0; i < 30; i++) {
    m.Add("connection from 192.168.1." + std::to_string(i) + " accepted", "info", i * kSec);
    m.Add("disk /dev/sd" + std::string(1, static_cast<char>('a' + i % 3)) + " is 9" + std::to_string(i) +
              "% full, cleaning cache now",
          "warn", i * kSec);
    m.Add("GET /api/items/" + std::to_string(i) + " 200", "info", i * kSec);
  }
  auto out = m.Take();
  ASSERT_EQ(out.size(), 3u);
  std::set<std::string> patterns;
  for (const auto& s : out) {
    patterns.insert(s.pattern);
    EXPECT_EQ(s.total, 30u) << s.pattern;
  }
  EXPECT_TRUE(patterns.contains("connection from <_> accepted"));
  EXPECT_TRUE(patterns.contains("GET <_> 200"));
  EXPECT_TRUE(patterns.contains("disk <_> is <_> full, cleaning cache now"));
}

TEST(PatternMinerTest, LevelsNeverShareAPattern) {
  PatternMiner m(kSec);
  for (int i = 0; i < 10; i++) {
    m.Add("job " + std::to_string(i) + " finished", "info", 0);
    m.Add("job " + std::to_string(i) + " finished", "error", 0);
  }
  auto out = m.Take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].pattern, out[1].pattern);
  EXPECT_NE(out[0].level, out[1].level);
}

TEST(PatternMinerTest, CountsPerStepAddUpToTheLines) {
  const int64_t step = 60 * kSec;
  PatternMiner m(step);
  const int64_t base = 1'767'225'600 * kSec;  // 2026-01-01, a multiple of the step
  int added = 0;
  for (int i = 0; i < 1000; i++) {
    std::string line = i % 3 == 0 ? "cache miss key=" + std::to_string(i) : "served request id=" + std::to_string(i) + " ok";
    m.Add(line, "info", base + i * 7 * kSec);
    added++;
  }
  auto out = m.Take();
  uint64_t total = 0;
  for (const auto& s : out) {
    EXPECT_EQ(SampleSum(s), s.total);
    total += s.total;
    for (size_t i = 0; i < s.samples.size(); i++) {
      EXPECT_EQ(s.samples[i].first % step, 0) << "aligned to the step";
      EXPECT_GT(s.samples[i].second, 0u);
      if (i > 0) {
        EXPECT_LT(s.samples[i - 1].first, s.samples[i].first);
      }
    }
  }
  EXPECT_EQ(total, static_cast<uint64_t>(added));
  // Step k holds the lines of [base + k*60s, base + (k+1)*60s): 60/7 rounded.
  ASSERT_FALSE(out.empty());
  uint64_t first_step = 0;
  for (const auto& s : out) {
    if (!s.samples.empty() && s.samples[0].first == base) first_step += s.samples[0].second;
  }
  EXPECT_EQ(first_step, 9u);  // i = 0..8 (0s..56s)
}

TEST(PatternMinerTest, MergedMinersEqualOneMinerOverAllLines) {
  PatternMiner a(kSec), b(kSec), whole(kSec);
  for (int i = 0; i < 100; i++) {
    std::string line = "worker " + std::to_string(i % 7) + " took " + std::to_string(i) + "ms";
    (i % 2 ? a : b).Add(line, "debug", i * kSec);
    whole.Add(line, "debug", i * kSec);
  }
  a.Merge(std::move(b));
  auto merged = a.Take();
  auto single = whole.Take();
  ASSERT_EQ(merged.size(), 1u);
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(merged[0].pattern, single[0].pattern);
  EXPECT_EQ(merged[0].samples, single[0].samples);
  EXPECT_EQ(merged[0].total, 100u);
}

TEST(PatternMinerTest, PatternSpellsTheLineWhitespace) {
  PatternMiner m(kSec);
  m.Add("a  b\tc 1", "info", 0);
  m.Add("a  b\tc 2", "info", 0);
  auto out = m.Take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].pattern, "a  b\tc <_>");
}

TEST(PatternMinerTest, OverlongLinesAreSkippedAndJsonLinesCluster) {
  PatternMiner m(kSec);
  EXPECT_FALSE(m.Add(std::string(PatternMiner::kMaxLineBytes + 1, 'x'), "info", 0));
  for (int i = 0; i < 20; i++) {
    m.Add("{\"level\":\"info\",\"msg\":\"paid\",\"amount\":" + std::to_string(i * 3) + ",\"user\":\"u" +
              std::to_string(i) + "\"}",
          "info", 0);
  }
  auto out = m.Take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].pattern, "{\"level\":\"info\",\"msg\":\"paid\",\"amount\":<_>,\"user\":\"<_>\"}");
  EXPECT_EQ(out[0].total, 20u);
}

}  // namespace
}  // namespace loge::query
