#include "ingest/fields.h"

#include <gtest/gtest.h>

namespace loge::ingest {
namespace {

TEST(Fields, NormalizeNameMakesPrometheusLabelNames) {
  auto check = [](std::string_view in, std::string_view want) {
    SCOPED_TRACE(in);
    EXPECT_EQ(NormalizeName(in), want);
    if (!want.empty()) {
      EXPECT_TRUE(IsValidLabelName(NormalizeName(in)));
    }
  };
  check("service.name", "service_name");
  check("k8s.pod.name", "k8s_pod_name");
  check("@timestamp", "_timestamp");
  check("9lives", "_9lives");
  check("ok_Name1", "ok_Name1");
  check("héllo", "h__llo");
  check("", "");
}

TEST(Fields, ParseLogTimeReadsWhatShippersSend) {
  auto check = [](std::string_view in, int64_t want) {
    SCOPED_TRACE(in);
    int64_t ns = -1;
    ASSERT_TRUE(ParseLogTime(in, &ns));
    EXPECT_EQ(ns, want);
  };
  check("2024-01-02T03:04:05Z", 1704164645000000000);
  check("2024-01-02T03:04:05.123456789Z", 1704164645123456789);
  check("2024-01-02T05:04:05.5+02:00", 1704164645500000000);
  check("2024-01-02T04:04:05.000+0100", 1704164645000000000);
  check("2024-01-02T03:04:05", 1704164645000000000);
  check("2024-01-02 03:04:05z", 1704164645000000000);
  check("2024-01-02", 1704153600000000000);
  check("1704164645", 1704164645000000000);
  check("1704164645.25", 1704164645250000000);
  check("1704164645123", 1704164645123000000);
  check("1704164645123456", 1704164645123456000);
  check("1704164645123456789", 1704164645123456789);
  for (std::string_view bad : {"", "yesterday", "2024-13-01", "2024-01-02T25:00:00Z", "2024-01-02T03:04:05Zjunk",
                               "-5", "12abc", "2024-01-02T03:04:05+5"}) {
    SCOPED_TRACE(bad);
    int64_t ns;
    EXPECT_FALSE(ParseLogTime(bad, &ns));
  }
}

TEST(Fields, StreamGrouperSortsDedupesAndFallsBackToUnknownService) {
  Payload p;
  StreamGrouper g(&p);
  Stream* a = g.For({{"b", "2"}, {"a", "1"}, {"a", "other"}, {"c", ""}});
  EXPECT_EQ(a->labels, (Labels{{"a", "1"}, {"b", "2"}}));
  a->entries.emplace_back();
  Stream* same = g.For({{"a", "1"}, {"b", "2"}});
  EXPECT_EQ(same->entries.size(), 1u);
  Stream* none = g.For({{"x", ""}});
  EXPECT_EQ(none->labels, (Labels{{"service_name", "unknown_service"}}));
  EXPECT_EQ(p.streams.size(), 2u);
}

TEST(Fields, MetadataKeepsTheFirstValueOfAKey) {
  MetadataBuilder m;
  m.Add("a", "1");
  m.Add("a", "2");
  m.Add("b", "");
  m.Add("q", "say \"hi\"");
  EXPECT_EQ(m.Json(), R"({"a":"1","q":"say \"hi\""})");
  MetadataBuilder many;
  for (int i = 0; i < 100; i++) many.Add("k" + std::to_string(i % 50), std::to_string(i));
  EXPECT_EQ(many.size(), 50u);
  EXPECT_EQ(MetadataBuilder().Json(), "");
}

TEST(Fields, EncodersAndDoubles) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x1a", 3)), "00ff1a");
  EXPECT_EQ(Base64Encode("hi"), "aGk=");
  EXPECT_EQ(Base64Encode("hey"), "aGV5");
  EXPECT_EQ(Base64Encode("h"), "aA==");
  EXPECT_EQ(FormatDouble(1.5), "1.5");
  EXPECT_EQ(FormatDouble(100), "100");
  EXPECT_EQ(FormatDouble(0.001), "0.001");
  EXPECT_EQ(FormatDouble(1e21), "1000000000000000000000");
}

}  // namespace
}  // namespace loge::ingest
