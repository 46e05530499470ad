#include "query/detected.h"

#include <gtest/gtest.h>

namespace loge::query {
namespace {

FieldType TypeOf(std::initializer_list<std::string_view> values) {
  FieldTypeSet t;
  for (auto v : values) t.Add(v);
  return t.Type();
}

TEST(FieldTypeTest, TypesAreTriedInLokisOrder) {
  auto check = [](std::initializer_list<std::string_view> values, FieldType want) {
    SCOPED_TRACE(std::string(*values.begin()));
    EXPECT_STREQ(FieldTypeName(TypeOf(values)), FieldTypeName(want));
  };
  check({"200"}, FieldType::kInt);
  check({"-17"}, FieldType::kInt);
  check({"0.1234"}, FieldType::kFloat);
  check({"1e3"}, FieldType::kFloat);
  check({"true"}, FieldType::kBoolean);
  check({"False"}, FieldType::kBoolean);
  check({"12ms"}, FieldType::kDuration);
  check({"1h2m0.5s"}, FieldType::kDuration);
  check({"26.4KiB"}, FieldType::kBytes);
  check({"3 MB"}, FieldType::kBytes);
  check({"GET"}, FieldType::kString);
  check({""}, FieldType::kString);
  check({"99999999999999999999"}, FieldType::kFloat);  // overflows int64, still a float
}

TEST(FieldTypeTest, MixedValuesTakeTheNarrowestTypeThatFitsAll) {
  EXPECT_EQ(TypeOf({"3", "2.5"}), FieldType::kFloat);
  EXPECT_EQ(TypeOf({"0", "1", "true"}), FieldType::kBoolean);
  EXPECT_EQ(TypeOf({"12ms", "0"}), FieldType::kDuration);
  EXPECT_EQ(TypeOf({"200", "12KB"}), FieldType::kBytes);
  EXPECT_EQ(TypeOf({"200", "oops"}), FieldType::kString);
}

Hit MakeHit(int64_t ts, std::string line, Labels stream, Labels structured = {}, Labels parsed = {}) {
  Hit h(ts, std::move(line), "", "");
  h.has_labels = true;
  h.stream = std::move(stream);
  h.structured = std::move(structured);
  h.parsed = std::move(parsed);
  return h;
}

const DetectedField* Find(const std::vector<DetectedField>& fs, std::string_view label) {
  for (const auto& f : fs) {
    if (f.label == label) return &f;
  }
  return nullptr;
}

TEST(DetectFieldsTest, JsonFieldsCarryTheirPathAndMetadataHasNoParser) {
  std::vector<Hit> hits;
  for (int i = 0; i < 5; i++) {
    hits.push_back(MakeHit(i,
                           "{\"user\":{\"id\":" + std::to_string(i) + ",\"active\":true},\"http.status\":200,"
                           "\"dur\":\"" + std::to_string(i + 1) + "ms\",\"tags\":[1,2],\"none\":null}",
                           {{"app", "checkout"}}, {{"detected_level", "info"}, {"trace_id", "t" + std::to_string(i % 2)}}));
  }
  auto fs = DetectFields(hits, 1000);
  const auto* id = Find(fs, "user_id");
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->type, FieldType::kInt);
  EXPECT_EQ(id->cardinality, 5u);
  EXPECT_EQ(id->parsers, std::vector<std::string>{"json"});
  EXPECT_EQ(id->json_path, (std::vector<std::string>{"user", "id"}));
  const auto* status = Find(fs, "http_status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->json_path, std::vector<std::string>{"http.status"});
  EXPECT_EQ(Find(fs, "user_active")->type, FieldType::kBoolean);
  EXPECT_EQ(Find(fs, "dur")->type, FieldType::kDuration);
  const auto* trace = Find(fs, "trace_id");
  ASSERT_NE(trace, nullptr);
  EXPECT_TRUE(trace->parsers.empty());
  EXPECT_EQ(trace->cardinality, 2u);
  EXPECT_EQ(Find(fs, "tags"), nullptr) << "arrays are skipped";
  EXPECT_EQ(Find(fs, "none"), nullptr) << "nulls are skipped";
  EXPECT_EQ(Find(fs, "app"), nullptr) << "stream labels are no fields";
}

TEST(DetectFieldsTest, LogfmtWhenNotJsonAndStreamLabelCollisionsAreExtracted) {
  std::vector<Hit> hits = {
      MakeHit(2, "level=warn msg=\"slow\" status=503 size=26.4KiB user=", {{"level", "warn"}}),
      MakeHit(1, "{\"msg\":\"hi\",\"status\":200}", {{"level", "warn"}}),
  };
  auto fs = DetectFields(hits, 1000);
  const auto* lvl = Find(fs, "level_extracted");
  ASSERT_NE(lvl, nullptr);
  EXPECT_EQ(lvl->parsers, std::vector<std::string>{"logfmt"});
  EXPECT_TRUE(lvl->json_path.empty());
  const auto* msg = Find(fs, "msg");
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(msg->parsers, (std::vector<std::string>{"json", "logfmt"}));
  EXPECT_EQ(msg->json_path, std::vector<std::string>{"msg"});
  EXPECT_EQ(Find(fs, "size")->type, FieldType::kBytes);
  EXPECT_EQ(Find(fs, "status")->cardinality, 2u);
  EXPECT_EQ(Find(fs, "user"), nullptr) << "empty values are not fields";
}

TEST(DetectFieldsTest, LimitCapsTheFieldsFound) {
  std::vector<Hit> hits = {MakeHit(1, "a=1 b=2 c=3 d=4", {{"app", "x"}})};
  EXPECT_EQ(DetectFields(hits, 2).size(), 2u);
  EXPECT_EQ(DetectFields(hits, 1000).size(), 4u);
}

TEST(DetectFieldValuesTest, ValuesAreDistinctAndBytesAreRewritten) {
  std::vector<Hit> hits = {
      MakeHit(3, "method=GET size=26.4KiB", {{"app", "api"}}, {{"pod", "p1"}}),
      MakeHit(2, "method=POST size=3MB", {{"app", "api"}}, {{"pod", "p2"}}),
      MakeHit(1, "method=GET size=5", {{"app", "api"}}, {{"pod", "p1"}}),
  };
  EXPECT_EQ(DetectFieldValues(hits, "method", 1000), (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(DetectFieldValues(hits, "size", 1000), (std::vector<std::string>{"27kB", "3.0MB", "5"}));
  EXPECT_EQ(DetectFieldValues(hits, "pod", 1000), (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(DetectFieldValues(hits, "method", 1).size(), 1u);
  EXPECT_TRUE(DetectFieldValues(hits, "nope", 1000).empty());
}

TEST(DetectLabelsTest, IdLikeLabelsAreLeftOutExceptFlagsAndStaticOnes) {
  std::map<std::string, std::vector<std::string>> values = {
      {"app", {"api", "checkout"}},
      {"build", {"101", "102", "103"}},
      {"request", {"123e4567-e89b-12d3-a456-426614174000", "{123e4567-e89b-12d3-a456-426614174001}"}},
      {"canary", {"0", "1"}},
      {"pod", {"1", "2", "3"}},
      {"mixed", {"1", "2", "x"}},
      {"empty", {}},
  };
  auto out = DetectLabels(values);
  std::vector<std::string> names;
  for (const auto& l : out) names.push_back(l.label);
  EXPECT_EQ(names, (std::vector<std::string>{"app", "canary", "mixed", "pod"}));
  EXPECT_EQ(out[0].cardinality, 2u);
  EXPECT_EQ(out[2].cardinality, 3u);
}

TEST(IsUuidTest, AcceptsGoogleUuidFormsOnly) {
  EXPECT_TRUE(IsUuid("123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_TRUE(IsUuid("urn:uuid:123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_TRUE(IsUuid("123e4567e89b12d3a456426614174000"));
  EXPECT_FALSE(IsUuid("123e4567-e89b-12d3-a456-42661417400g"));
  EXPECT_FALSE(IsUuid("api-1"));
}

}  // namespace
}  // namespace loge::query
