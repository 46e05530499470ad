// FormatQuery: LogQL written as Loki's format_query writes it.
#include <gtest/gtest.h>

#include "query/logql.h"

namespace loge::query {
namespace {

TEST(LogqlFormat, WritesQueriesTheWayLokiPrintsThem) {
  auto check = [](const std::string& in, const std::string& want) {
    SCOPED_TRACE(in);
    auto f = FormatQuery(in);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ(*f, want);
  };
  // Loki's recorded answers (conformance loki-0324..0326).
  check(R"(sum by(env)(rate({app="api"}[5m])))", R"(sum by (env)(rate({app="api"}[5m])))");
  check(R"({app="api"} | json | line_format "{{.a}}")", R"({app="api"} | json | line_format "{{.a}}")");
  check(R"(sum(count_over_time({a="b"}[1h]))/2)", R"((sum(count_over_time({a="b"}[1h])) / 2))");
  // Spacing, quoting and grouping normalised.
  check(R"({app=`api`,env=~"p.*"}|="x"   |json)", R"({app="api", env=~"p.*"} |= "x" | json)");
  check(R"(sum(rate({a="b"}[5m])) by (x, y))", R"(sum by (x,y)(rate({a="b"}[5m])))");
  check(R"(count_over_time({a="b"}[90s] offset 1h))", R"(count_over_time({a="b"}[1m30s] offset 1h))");
  check(R"(count_over_time({a="b"} | logfmt [5m]))", R"(count_over_time({a="b"} | logfmt[5m]))");
  check(R"(topk(3, sum by (a) (count_over_time({a="b"}[1m]))))",
        R"(topk(3,sum by (a)(count_over_time({a="b"}[1m]))))");
  check(R"({a="b"} | status >= 500)", R"({a="b"} | status>=500)");
}

TEST(LogqlFormat, RejectsGarbageWithLokisParseError) {
  for (const char* in : {"", "{", R"({app="api")", "sum(", R"({a="b"} | json |)", "\xff\xfe"}) {
    SCOPED_TRACE(in);
    auto f = FormatQuery(in);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.status().code(), Code::kInvalidArgument);
  }
  EXPECT_NE(FormatQuery(R"({app="api")").status().message().find("parse error"), std::string::npos);
}

}  // namespace
}  // namespace loge::query
