// Label filter stages (`| name op "value"`) over structured metadata and
// stream labels: parsing, and evaluation through the query's pipeline.
#include <gtest/gtest.h>

#include "query/engine.h"
#include "query/logql.h"

namespace loge::query {
namespace {

Query FromSelector(const std::string& text) {
  auto sel = ParseSelector(text);
  EXPECT_TRUE(sel.ok()) << text << ": " << sel.status().ToString();
  Query q;
  if (!sel.ok()) return q;
  q.SetSelector(std::move(*sel));
  return q;
}

// Whether an entry of `stream` with `metadata` passes q's entry filters and pipeline.
bool Passes(const Query& q, const Labels& stream, std::string_view metadata) {
  if (!q.MatchesEntry(stream, metadata)) return false;
  if (!q.HasPipeline()) return true;
  LabelsBuilder lb;
  lb.Reset(&stream, nullptr);
  lb.AddMetadata(metadata);
  PipelineLine line{"a line", {}};
  return q.pipeline->Process(0, &line, &lb);
}

TEST(EntryFilter, ParsesAfterAndBetweenLineFilters) {
  auto s = ParseSelector(R"({app="web"} |= "GET" | trace_id="abc" != "x" | user=~"a.*" | region!~`eu-.*`)");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->matchers.size(), 1u);
  // Line filters move in front of the label filters (they commute).
  ASSERT_EQ(s->line_filters.size(), 2u);
  ASSERT_NE(s->pipeline, nullptr);
  EXPECT_EQ(s->pipeline->stages.size(), 3u);

  auto bare = ParseSelector(R"({app="web"}|trace_id!="")");
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  ASSERT_NE(bare->pipeline, nullptr);
  EXPECT_EQ(bare->pipeline->stages.size(), 1u);
}

TEST(EntryFilter, ErrorsCarryPositions) {
  auto check = [](const std::string& text, const std::string& want) {
    SCOPED_TRACE(text);
    auto s = ParseSelector(text);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().message(), want);
  };
  check(R"({a="b"} | x)",
        R"(1:12: expected =, !=, =~, !~, ==, >, >=, < or <= after label name x in label filter, found end of input)");
  check(R"({a="b"} | x =)",
        "1:14: expected a string, a number, a duration, a byte size or ip(...) after the operator, found end of input");
  check(R"({a="b"} | x = y)",
        R"(1:15: expected a string, a number, a duration, a byte size or ip(...) after the operator, found "y")");
  check(R"({a="b"} | x =~ "(")", R"(1:16: matcher x: invalid regex "(": missing ): ()");
  check(R"({a="b"} | "x")", R"(1:11: expected a parser, a formatter or a label filter after |, found string "x")");
  check(R"({a="b"} | x > "5")", R"(1:15: a string compares with = or != only)");
}

TEST(EntryFilter, MatchesStructuredMetadataThenStreamLabels) {
  const Labels stream = {{"app", "web"}, {"env", "prod"}};
  const std::string meta = R"({"trace_id":"abc","user":"bob"})";
  auto check = [&](const std::string& filters, std::string_view metadata, bool want) {
    SCOPED_TRACE(filters + " on " + std::string(metadata));
    Query q = FromSelector(R"({app="web"} )" + filters);
    EXPECT_EQ(Passes(q, stream, metadata), want);
  };
  check(R"(| trace_id="abc")", meta, true);
  check(R"(| trace_id="abd")", meta, false);
  check(R"(| trace_id!="abc")", meta, false);
  check(R"(| trace_id=~"a.c")", meta, true);
  check(R"(| trace_id=~"b")", meta, false);  // anchored, like Loki
  check(R"(| trace_id!~"x.*")", meta, true);
  check(R"(| trace_id="abc" | user="bob")", meta, true);
  check(R"(| trace_id="abc" | user="eve")", meta, false);
  check(R"(| env="prod")", meta, true);   // a stream label
  check(R"(| env="dev")", meta, false);
  check(R"(| missing="")", meta, true);   // absent matches as ""
  check(R"(| missing!="")", meta, false);
  check(R"(| trace_id="abc")", "", false);
  check(R"(| trace_id="")", "", true);
  check(R"(| trace_id="abc")", "not json", false);  // malformed counts as none
  check(R"(| trace_id="abc")", R"({"trace_id":)", false);
  check("", meta, true);  // no filters: everything
}

TEST(EntryFilter, MetadataValuesAreUnescapedAndCollisionsAreExtracted) {
  const Labels stream = {{"app", "web"}};
  Query q = FromSelector(R"({app="web"} | msg="a \"q\" \\ é 😀")");
  EXPECT_TRUE(Passes(q, stream, R"({"msg":"a \"q\" \\ \u00e9 \ud83d\ude00"})"));
  EXPECT_TRUE(Passes(q, stream, R"( { "x" : "1" , "msg" : "a \"q\" \\ é 😀" } )"));
  EXPECT_FALSE(Passes(q, stream, R"({"msg":"a"})"));

  // A metadata key that is also a stream label: the label wins, the metadata
  // value is reachable as <name>_extracted (Loki's rule).
  Query app = FromSelector(R"({app="web"} | app="web")");
  EXPECT_TRUE(Passes(app, stream, R"({"app":"other"})"));
  Query extracted = FromSelector(R"({app="web"} | app_extracted="other")");
  EXPECT_TRUE(Passes(extracted, stream, R"({"app":"other"})"));
  EXPECT_FALSE(Passes(extracted, stream, R"({"app":"web"})"));
}

}  // namespace
}  // namespace loge::query
