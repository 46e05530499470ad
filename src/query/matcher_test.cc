#include "query/matcher.h"

#include <gtest/gtest.h>

#include "query/engine.h"

namespace loge::query {
namespace {

TEST(LabelMatcher, AllFourTypesWithMissingLabelAsEmpty) {
  Labels l = {{"app", "web"}, {"env", "prod"}};
  auto check = [&](const char* name, const char* value, MatchType t, bool want) {
    SCOPED_TRACE(std::string(name) + MatchTypeName(t) + value);
    auto m = LabelMatcher::Make(name, value, t);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->Matches(l), want);
  };
  check("app", "web", MatchType::kEq, true);
  check("app", "api", MatchType::kEq, false);
  check("app", "api", MatchType::kNeq, true);
  check("app", "w.*", MatchType::kRe, true);
  check("app", "e", MatchType::kRe, false);  // anchored, as in Loki
  check("app", "w.*", MatchType::kNre, false);
  check("zone", "", MatchType::kEq, true);   // absent == ""
  check("zone", "x", MatchType::kNeq, true);
  check("zone", ".+", MatchType::kRe, false);
  check("app", "(?i)WEB", MatchType::kRe, true);
}

TEST(LabelMatcher, RejectsBadRegexAndNames) {
  auto m = LabelMatcher::Make("app", "(", MatchType::kRe);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("invalid regex"), std::string::npos);
  EXPECT_FALSE(LabelMatcher::Make("9x", "a", MatchType::kEq).ok());
  EXPECT_FALSE(ParseMatchType("==").ok());
}

TEST(LabelMatcher, RequiresLabelOnlyWhenEmptyCannotMatch) {
  EXPECT_TRUE(LabelMatcher::Make("a", "x", MatchType::kEq)->RequiresLabel());
  EXPECT_FALSE(LabelMatcher::Make("a", "", MatchType::kEq)->RequiresLabel());
  EXPECT_FALSE(LabelMatcher::Make("a", "x", MatchType::kNeq)->RequiresLabel());
  EXPECT_TRUE(LabelMatcher::Make("a", ".+", MatchType::kRe)->RequiresLabel());
  EXPECT_FALSE(LabelMatcher::Make("a", ".*", MatchType::kRe)->RequiresLabel());
}

TEST(LineFilter, ContainsIsCaseSensitive) {
  auto f = LineFilter::Make(LineFilterType::kContains, "Timeout");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->Matches("a Timeout here"));
  EXPECT_FALSE(f->Matches("a timeout here"));
  auto n = LineFilter::Make(LineFilterType::kNotContains, "x");
  EXPECT_TRUE(n->Matches("abc"));
  EXPECT_FALSE(n->Matches("xyz"));
  auto r = LineFilter::Make(LineFilterType::kRegex, "err(or)?\\b");
  EXPECT_TRUE(r->Matches("an error"));
  EXPECT_FALSE(r->Matches("errand"));
}

TEST(TopK, KeepsTheNewestAndSortsDeterministically) {
  TopK top(3);
  for (int64_t ts : {5, 1, 9, 7, 3, 9}) top.Add(Hit{ts, "l" + std::to_string(ts), "{}", ""});
  top.Add(Hit{9, "other", "{}", ""});  // same instant, another line: kept
  EXPECT_TRUE(top.Full());
  EXPECT_EQ(top.Threshold(), 7);
  EXPECT_FALSE(top.Admits(6));
  auto hits = top.TakeSortedNewestFirst();
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].ts, 9);
  EXPECT_EQ(hits[0].line, "l9");  // the identical second copy was dropped
  EXPECT_EQ(hits[1].ts, 9);
  EXPECT_EQ(hits[1].line, "other");
  EXPECT_EQ(hits[2].ts, 7);
}

// A retried push leaves identical entries in two files (or a file and the
// head) until a merge joins them: the answer holds each once, and the copies
// never take the places of other rows.
TEST(TopK, DropsIdenticalEntriesAcrossSourcesAndKeepsTheLimit) {
  TopK a(4), b(4);
  for (int64_t ts = 1; ts <= 6; ts++) {
    a.Add(Hit{ts, "line" + std::to_string(ts), R"({"app":"web"})", ""});
    if (ts >= 3) b.Add(Hit{ts, "line" + std::to_string(ts), R"({"app":"web"})", ""});  // the retry
  }
  b.Add(Hit{6, "line6", R"({"app":"db"})", ""});  // same ts and line, another stream: not a copy
  a.Merge(std::move(b));
  auto hits = a.TakeSortedNewestFirst();
  ASSERT_EQ(hits.size(), 4u);
  EXPECT_EQ(hits[0].labels_json, R"({"app":"db"})");
  EXPECT_EQ(hits[1].ts, 6);
  EXPECT_EQ(hits[2].ts, 5);
  EXPECT_EQ(hits[3].ts, 4);
  // Oldest first too, and a copy arriving after its original was evicted
  // from a full heap is judged against what is kept now.
  TopK o(2, /*oldest=*/true);
  for (int64_t ts : {3, 1, 2, 1, 2, 3}) o.Add(Hit{ts, "x", "{}", ""});
  auto old = o.TakeSortedNewestFirst();
  ASSERT_EQ(old.size(), 2u);
  EXPECT_EQ(old[0].ts, 1);
  EXPECT_EQ(old[1].ts, 2);
}

}  // namespace
}  // namespace loge::query
