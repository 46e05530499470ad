// Loki's parameter rules (loki_params.h): times, steps, direction, limit, range.
#include "server/loki_params.h"

#include <gtest/gtest.h>

#include "core/json_writer.h"

namespace loge::server {
namespace {

TEST(LokiParams, TimesFollowLokisDigitCountDotAndRfc3339Rules) {
  auto check = [](const std::string& in, int64_t want) {
    SCOPED_TRACE(in);
    auto t = ParseLokiTime(in, -1);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(*t, want);
  };
  check("", -1);                                        // the default
  check("4000000000", 4'000'000'000LL * kLokiNsPerSec);  // 10 digits: seconds (Grafana's health check)
  check("1767225600", 1767225600LL * kLokiNsPerSec);
  check("17672256000", 17672256000LL);                   // 11 digits: nanoseconds
  check("1767225600000000000", 1767225600000000000LL);
  check("1767225600.5", 1767225600500000000LL);          // float seconds
  check("1767225600.1234", 1767225600123000000LL);       // to the millisecond
  check("2026-01-01T00:00:00Z", 1767225600000000000LL);
  check("2026-01-01T01:00:00.000000123+01:00", 1767225600000000123LL);
}

// A sample's time is seconds with up to three decimals, as Loki writes it;
// before 1970 the sign stays even when the whole seconds are 0.
TEST(LokiParams, SampleTimesKeepTheirSignAndMilliseconds) {
  auto text = [](int64_t ns) {
    JsonWriter w;
    WriteLokiSampleTime(ns, &w);
    return w.Take();
  };
  EXPECT_EQ(text(1'700'000'000'000'000'000), "1700000000");
  EXPECT_EQ(text(1'700'000'000'250'000'000), "1700000000.25");
  EXPECT_EQ(text(1'700'000'000'001'999'999), "1700000000.001");
  EXPECT_EQ(text(-500'000'000), "-0.5");
  EXPECT_EQ(text(-1'500'000'000), "-1.5");
  EXPECT_EQ(text(-2'000'000'000), "-2");
  EXPECT_EQ(text(-999'999), "0");  // under a millisecond: Loki's ms time is 0
  EXPECT_EQ(text(INT64_MIN), "-9223372036.854");
}

TEST(LokiParams, BadTimesAreInvalidArgumentNeverAnOverflow) {
  for (std::string in : {"yesterday", "12:00", "9999999999", "1e400.5"}) {
    SCOPED_TRACE(in);
    auto t = ParseLokiTime(in, 0);
    EXPECT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
  }
  EXPECT_NE(ParseLokiTime("yesterday", 0).status().message().find("invalid syntax"), std::string::npos);
  EXPECT_NE(ParseLokiTime("9999999999", 0).status().message().find("out of range"), std::string::npos);
}

TEST(LokiParams, StepsAreFloatSecondsOrPrometheusDurations) {
  auto check = [](const std::string& in, int64_t want) {
    SCOPED_TRACE(in);
    auto s = ParseLokiStep(in);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(*s, want);
  };
  check("60000ms", 60 * kLokiNsPerSec);  // Grafana's form
  check("1m", 60 * kLokiNsPerSec);
  check("90s", 90 * kLokiNsPerSec);
  check("1h30m", 5400 * kLokiNsPerSec);
  check("30", 30 * kLokiNsPerSec);       // logcli's float seconds
  check("0.5", kLokiNsPerSec / 2);
  for (std::string bad : {"0.5m", "abc", "", " 5", "1e300"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(ParseLokiStep(bad).ok());
  }
}

TEST(LokiParams, DirectionIsForwardOrBackwardInAnyCase) {
  EXPECT_FALSE(*ParseLokiDirection(""));
  EXPECT_FALSE(*ParseLokiDirection("backward"));
  EXPECT_FALSE(*ParseLokiDirection("BACKWARD"));
  EXPECT_TRUE(*ParseLokiDirection("forward"));
  EXPECT_TRUE(*ParseLokiDirection("Forward"));
  auto bad = ParseLokiDirection("sideways");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "invalid direction 'sideways'");
}

TEST(LokiParams, LimitDefaultsIsPositiveAndCapped) {
  EXPECT_EQ(*ParseLokiLimit("", 100, 5000), 100);
  EXPECT_EQ(*ParseLokiLimit("5000", 100, 5000), 5000);
  EXPECT_EQ(*ParseLokiLimit("6000", 100, 0), 6000);  // 0 = no cap
  EXPECT_EQ(ParseLokiLimit("0", 100, 5000).status().message(), "limit must be a positive value");
  EXPECT_EQ(ParseLokiLimit("-3", 100, 5000).status().message(), "limit must be a positive value");
  EXPECT_NE(ParseLokiLimit("ten", 100, 5000).status().message().find("invalid syntax"), std::string::npos);
  EXPECT_EQ(ParseLokiLimit("6000", 100, 5000).status().message(),
            "max entries limit per query exceeded, limit > max_entries_limit_per_query (6000 > 5000)");
}

TEST(LokiParams, RangeDefaultsToAWindowBeforeEndAndTakesSince) {
  const int64_t now = 2'000'000'000LL * kLokiNsPerSec;
  LokiForm f;
  auto r = ParseLokiRange(f, now, 3600 * kLokiNsPerSec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->end, now);
  EXPECT_EQ(r->start, now - 3600 * kLokiNsPerSec);
  f.values = {{"since", "5m"}, {"end", "1900000000"}};
  r = ParseLokiRange(f, now, 3600 * kLokiNsPerSec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->end, 1'900'000'000LL * kLokiNsPerSec);
  EXPECT_EQ(r->start, r->end - 300 * kLokiNsPerSec);
  f.values = {{"start", "20"}, {"end", "10"}};
  EXPECT_FALSE(ParseLokiRange(f, now, 1).ok());
  f.values = {{"start", "soon"}};
  EXPECT_NE(ParseLokiRange(f, now, 1).status().message().find("could not parse 'start' parameter"), std::string::npos);
}

TEST(LokiParams, FormReadsRepeatedNamesInOrderBodyFirst) {
  HttpRequest req;
  req.method = "POST";
  req.body = "match%5B%5D=%7Ba%3D%22b%22%7D&limit=5";
  req.query = "match[]={c=\"d\"}&match={e=\"f\"}";
  auto f = ReadLokiForm(req);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->All("match[]"), (std::vector<std::string>{"{a=\"b\"}", "{c=\"d\"}"}));
  EXPECT_EQ(f->Get("match"), "{e=\"f\"}");
  EXPECT_EQ(f->Get("limit"), "5");
  EXPECT_TRUE(f->Has("limit"));
  EXPECT_FALSE(f->Has("start"));
  req.query = "bad=%zz";
  EXPECT_FALSE(ReadLokiForm(req).ok());
}

}  // namespace
}  // namespace loge::server
