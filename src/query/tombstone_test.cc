#include "query/tombstone.h"

#include <gtest/gtest.h>

namespace loge::query {
namespace {

TEST(Tombstone, DeletesRowsOfMatchingStreamsInTheWindowThatPassTheLineFilters) {
  auto t = Tombstone::Make("r1", "{app=\"web\", env!=\"dev\"} |= \"password\" !~ \"ok$\"", 100, 200);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->query(), "{app=\"web\", env!=\"dev\"} |= \"password\" !~ \"ok$\"");
  EXPECT_TRUE(t->MatchesStream({{"app", "web"}, {"env", "prod"}}));
  EXPECT_FALSE(t->MatchesStream({{"app", "web"}, {"env", "dev"}}));
  EXPECT_FALSE(t->MatchesStream({{"app", "api"}}));
  auto check = [&](int64_t ts, std::string_view line, bool want) {
    SCOPED_TRACE(std::string(line) + " at " + std::to_string(ts));
    EXPECT_EQ(t->DeletesRow(ts, line), want);
  };
  check(100, "password=hunter2", true);  // bounds are inclusive
  check(200, "password=hunter2", true);
  check(99, "password=hunter2", false);
  check(201, "password=hunter2", false);
  check(150, "user=bob", false);
  check(150, "password ok", false);
}

TEST(Tombstone, RejectsWhatIsNotASelectorWithLineFilters) {
  for (const char* bad : {"", "{}", "|= \"x\"", "{app=\"web\"} | json", "{app=\"web\"} | logfmt |= \"x\"",
                          "{app=\"web\"} | level=\"error\"", "count_over_time({app=\"web\"}[1m])", "{app=\"web\""}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(Tombstone::Make("r", bad, 0, 1).status().code(), Code::kInvalidArgument);
  }
  EXPECT_EQ(Tombstone::Make("r", "{app=\"web\"}", 2, 1).status().code(), Code::kInvalidArgument);
}

TEST(Tombstone, StreamTombstonesKeepOnlyThoseOfTheStream) {
  auto all = std::make_shared<std::vector<Tombstone>>();
  all->push_back(*Tombstone::Make("a", "{app=\"web\"}", 10, 20));
  all->push_back(*Tombstone::Make("b", "{app=\"api\"} |= \"x\"", 30, 40));
  const Tombstones ts(all);
  StreamTombstones web(ts, {{"app", "web"}});
  EXPECT_FALSE(web.empty());
  EXPECT_TRUE(web.Overlaps(0, 10));
  EXPECT_FALSE(web.Overlaps(21, 100));
  EXPECT_TRUE(web.Deletes(15, "anything"));
  EXPECT_FALSE(web.Deletes(35, "x"));
  EXPECT_TRUE(StreamTombstones(ts, {{"app", "other"}}).empty());
  EXPECT_TRUE(StreamTombstones(nullptr, {{"app", "web"}}).empty());
}

}  // namespace
}  // namespace loge::query
