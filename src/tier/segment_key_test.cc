#include "tier/segment_key.h"

#include <gtest/gtest.h>

namespace loge::tier {
namespace {

TEST(SegmentKey, RoundTripsNodeIdAndBounds) {
  std::string key = SegmentKey("0123abcd", "segment-100-200-7.sqlite.zst");
  EXPECT_EQ(key, "0123abcd/segment-100-200-7.sqlite.zst");
  SegmentKeyInfo k;
  ASSERT_TRUE(ParseSegmentKey(key, &k));
  EXPECT_EQ(k.node_id, "0123abcd");
  EXPECT_EQ(k.name, "segment-100-200-7.sqlite.zst");
  EXPECT_EQ(k.min_ts, 100);
  EXPECT_EQ(k.max_ts, 200);
  EXPECT_EQ(k.id, 7);
}

TEST(SegmentKey, NegativeBoundsParse) {
  int64_t lo, hi, id;
  ASSERT_TRUE(ParseSegmentName("segment--5--2-3.sqlite.zst", &lo, &hi, &id));
  EXPECT_EQ(lo, -5);
  EXPECT_EQ(hi, -2);
  EXPECT_EQ(id, 3);
  ASSERT_TRUE(ParseSegmentName("segment--5-7-0.sqlite.zst", &lo, &hi, &id));
  EXPECT_EQ(hi, 7);
}

TEST(SegmentKey, RejectsOtherNamings) {
  auto check = [](const std::string& key) {
    SCOPED_TRACE(key);
    SegmentKeyInfo k;
    EXPECT_FALSE(ParseSegmentKey(key, &k));
  };
  check("segment-1-2-3.sqlite.zst");                 // no node id
  check("n/flush-0-1.sqlite.zst");                   // a flush file
  check("n/segment-1-2.sqlite.zst");                 // no id
  check("n/segment-1-2-3.sqlite");                   // wrong suffix
  check("n/segment-2-1-3.sqlite.zst");               // min > max
  check("n/segment-1-2--3.sqlite.zst");              // negative id
  check("n/segment-a-2-3.sqlite.zst");               // not a number
  check("n/segment-1-2-3-4.sqlite.zst");             // extra field
  check("n/segment-99999999999999999999-1-1.sqlite.zst");  // overflow
  check("a/b/segment-1-2-3.sqlite.zst");             // nested
  check("bad.id/segment-1-2-3.sqlite.zst");          // '.' in a node id
  check("/segment-1-2-3.sqlite.zst");                // empty node id
  check("");
}

TEST(SegmentKey, NodeIdsAreValidated) {
  EXPECT_TRUE(ValidateNodeId("node-1_A").ok());
  EXPECT_EQ(ValidateNodeId("").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateNodeId(std::string(65, 'a')).code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateNodeId("a/b").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateNodeId("a b").code(), Code::kInvalidArgument);
  std::string r = RandomNodeId();
  EXPECT_EQ(r.size(), 16u);
  EXPECT_TRUE(ValidateNodeId(r).ok());
  EXPECT_NE(r, RandomNodeId());
}

}  // namespace
}  // namespace loge::tier
