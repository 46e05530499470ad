#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "core/crc32c.h"
#include "core/heap.h"
#include "core/json_writer.h"
#include "core/time.h"
#include "core/types.h"

namespace loge {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;  // the sanitizers' allocators answer neither interface
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

TEST(Heap, CountsALiveAllocationAndItsFree) {
  if (kSanitized) GTEST_SKIP() << "sanitizer allocator";
  constexpr size_t kBytes = 64 << 20;
  const HeapStats before = ReadHeap();
  char* p = static_cast<char*>(std::malloc(kBytes));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, kBytes);  // resident, not only reserved
  const HeapStats during = ReadHeap();
  EXPECT_GE(during.allocated, before.allocated + kBytes - (1 << 20)) << during.allocator;
  EXPECT_GE(during.resident, during.allocated / 2) << during.allocator;
  std::free(p);
  const HeapStats after = ReadHeap();
  EXPECT_LE(after.allocated + kBytes / 2, during.allocated) << after.allocator;
}

TEST(Duration, ParsesGoForms) {
  auto check = [](const char* in, int64_t want_ns) {
    SCOPED_TRACE(in);
    auto d = ParseDuration(in);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->count(), want_ns);
  };
  check("500ms", 500'000'000);
  check("1s", 1'000'000'000);
  check("1h30m", 5'400'000'000'000);
  check("1.5s", 1'500'000'000);
  check("0", 0);
  check("2us", 2000);
  check("-3m", -180'000'000'000);
}

TEST(Duration, RejectsGarbageNamingIt) {
  for (const char* in : {"", "5", "1x", "ms", "1..2s", "abc", "1h-3m"}) {
    SCOPED_TRACE(in);
    auto d = ParseDuration(in);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.status().message().find("invalid duration"), std::string::npos);
  }
}

TEST(Duration, FormatsLikeGo) {
  EXPECT_EQ(FormatDuration(std::chrono::seconds(1)), "1s");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(500)), "500ms");
  EXPECT_EQ(FormatDuration(std::chrono::minutes(90)), "1h30m0s");
  EXPECT_EQ(FormatDuration(Duration(0)), "0s");
}

TEST(ParseInt64, AcceptsOnlyPlainDecimals) {
  int64_t v;
  EXPECT_TRUE(ParseInt64("1700000000000000000", &v));
  EXPECT_EQ(v, 1700000000000000000);
  EXPECT_TRUE(ParseInt64("-5", &v));
  EXPECT_FALSE(ParseInt64("", &v));
  EXPECT_FALSE(ParseInt64("12a", &v));
  EXPECT_FALSE(ParseInt64("99999999999999999999", &v));
  EXPECT_FALSE(ParseInt64(" 1", &v));
  EXPECT_FALSE(ParseInt64("1.5", &v));
}

TEST(Crc32c, MatchesKnownVectors) {
  // RFC 3720 B.4 test vectors.
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c::Value(zeros.data(), zeros.size()), 0x8a9136aau);
  std::string ones(32, '\xff');
  EXPECT_EQ(crc32c::Value(ones.data(), ones.size()), 0x62a8ab43u);
  EXPECT_EQ(crc32c::Value("123456789", 9), 0xe3069283u);
  uint32_t c = 0x12345678;
  EXPECT_EQ(crc32c::Unmask(crc32c::Mask(c)), c);
}

TEST(Crc32c, HardwareAndSoftwareAgree) {
  std::string s;
  for (int i = 0; i < 1000; i++) s.push_back(static_cast<char>(i * 131 + 7));
  for (size_t n : {0, 1, 7, 8, 9, 63, 64, 65, 999, 1000}) {
    EXPECT_EQ(crc32c::Extend(0x1234, s.data(), n), crc32c::ExtendSoftware(0x1234, s.data(), n)) << n;
  }
}

TEST(Crc32c, ExtendEqualsWhole) {
  std::string s = "the quick brown fox jumps over the lazy dog, twice over";
  uint32_t whole = crc32c::Value(s.data(), s.size());
  uint32_t part = crc32c::Extend(crc32c::Value(s.data(), 13), s.data() + 13, s.size() - 13);
  EXPECT_EQ(whole, part);
}

TEST(Labels, SortRejectsDuplicates) {
  Labels l = {{"b", "1"}, {"a", "2"}};
  ASSERT_TRUE(SortLabels(&l).ok());
  EXPECT_EQ(l[0].first, "a");
  Labels dup = {{"a", "1"}, {"a", "2"}};
  auto st = SortLabels(&dup);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
}

TEST(Labels, ValidNames) {
  EXPECT_TRUE(IsValidLabelName("app"));
  EXPECT_TRUE(IsValidLabelName("_x9"));
  EXPECT_FALSE(IsValidLabelName(""));
  EXPECT_FALSE(IsValidLabelName("9a"));
  EXPECT_FALSE(IsValidLabelName("a-b"));
  EXPECT_FALSE(IsValidLabelName("a.b"));
}

TEST(Labels, FingerprintSeparatesBoundaries) {
  Labels a = {{"a", "bc"}};
  Labels b = {{"ab", "c"}};
  EXPECT_NE(Fingerprint(a), Fingerprint(b));
  EXPECT_EQ(Fingerprint(a), Fingerprint(Labels{{"a", "bc"}}));
  EXPECT_EQ(LabelsToJson({{"app", "w\"eb"}, {"env", "p"}}), R"({"app":"w\"eb","env":"p"})");
}

TEST(JsonWriter, EscapesControlAndInvalidUtf8) {
  std::string out;
  JsonWriter::Escape(std::string("a\n\x01\xff\xc3\xa9", 6), &out);
  EXPECT_EQ(out, "\"a\\n\\u0001\xEF\xBF\xBD\xc3\xa9\"");
  JsonWriter w;
  w.BeginObject();
  w.Key("n");
  w.Int(-3);
  w.Key("a");
  w.BeginArray();
  w.Bool(true);
  w.Null();
  w.EndArray();
  w.EndObject();
  EXPECT_EQ(w.str(), R"({"n":-3,"a":[true,null]})");
}

TEST(PayloadCodec, RoundTrips) {
  Payload p;
  p.streams.push_back({{{"app", "web"}}, {{5, "x", ""}, {3, "y\nz", "{\"k\":1}"}, {-1, "", ""}}});
  p.streams.push_back({{}, {}});
  std::string enc;
  EncodePayload(p, &enc);
  auto d = DecodePayload(enc);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->streams.size(), 2u);
  EXPECT_EQ(d->streams[0].entries[1].ts, 3);
  EXPECT_EQ(d->streams[0].entries[1].line, "y\nz");
  EXPECT_EQ(d->streams[0].entries[1].metadata, "{\"k\":1}");
  EXPECT_EQ(d->streams[0].entries[2].ts, -1);
}

TEST(PayloadCodec, RejectsTruncation) {
  Payload p;
  p.streams.push_back({{{"app", "web"}}, {{5, "hello", ""}}});
  std::string enc;
  EncodePayload(p, &enc);
  for (size_t n = 0; n < enc.size(); n++) {
    EXPECT_FALSE(DecodePayload(std::string_view(enc).substr(0, n)).ok()) << n;
  }
}

}  // namespace
}  // namespace loge

namespace loge {
namespace {

TEST(Rfc3339, ParsesZoneAndFraction) {
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:01Z"), 1000000000);
  EXPECT_EQ(*ParseRfc3339("2026-06-01T00:00:00Z"), 1780272000LL * 1000000000);
  EXPECT_EQ(*ParseRfc3339("2026-06-01T02:00:00.5+02:00"), 1780272000LL * 1000000000 + 500000000);
  EXPECT_EQ(*ParseRfc3339("2026-05-31T23:00:00-01:00"), 1780272000LL * 1000000000);
  for (const char* bad : {"", "2026-06-01", "2026-06-01T00:00:00", "2026-13-01T00:00:00Z", "2026-06-01T00:00:00Zx",
                          "yesterday", "2026-06-01T00:00:00.Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
}

TEST(Rfc3339, FormatsLocalTimeWithMillis) {
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(FormatLocalRfc3339Millis(1780272000LL * 1000000000 + 123456789), "2026-06-01T00:00:00.123Z");
}

}  // namespace
}  // namespace loge
