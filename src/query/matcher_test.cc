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
  EXPECT_TRUE(top.Full());
  EXPECT_EQ(top.Threshold(), 7);
  EXPECT_FALSE(top.Admits(6));
  auto hits = top.TakeSortedNewestFirst();
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].ts, 9);
  EXPECT_EQ(hits[1].ts, 9);
  EXPECT_EQ(hits[2].ts, 7);
}

}  // namespace
}  // namespace loge::query
