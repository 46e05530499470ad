#include "store/merge_policy.h"

#include <gtest/gtest.h>

#include "store/filename.h"

namespace loge::store {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr uint64_t kMiB = 1 << 20;

MergePolicy Policy() {
  MergePolicy p;
  p.segment_bytes = 256 * kMiB;
  p.flush_merge_files = 64;
  p.flush_merge_age_ns = 300 * kSec;
  p.fan_in = 8;
  return p;
}

// n flush files of `mib` MiB each, sealed at `sealed` (s), newest last.
std::vector<MergeFile> Flushes(int n, uint64_t mib, int64_t sealed = 0, int64_t first_id = 1) {
  std::vector<MergeFile> v;
  for (int i = 0; i < n; i++) {
    v.push_back(MergeFile{first_id + i, 0, mib * kMiB, i * 10, i * 10 + 9, sealed * kSec, true});
  }
  return v;
}

TEST(MergePolicy, FlushFilesWaitUntilASegmentsWorth) {
  auto files = Flushes(40, 5);  // 200 MiB: not yet
  EXPECT_FALSE(PickMerge(files, Policy(), 10 * kSec, false));
  files = Flushes(60, 5);  // 300 MiB: one segment's worth, oldest first
  auto pick = PickMerge(files, Policy(), 10 * kSec, false);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->ids.size(), 51u);  // 51 x 5 MiB <= 256 MiB
  EXPECT_EQ(pick->ids.front(), 1);
  EXPECT_EQ(pick->output_level, 1);
}

TEST(MergePolicy, ManyOrOldFlushFilesAreMergedAnyway) {
  auto pick = PickMerge(Flushes(64, 1), Policy(), 10 * kSec, false);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->ids.size(), 64u);
  EXPECT_FALSE(PickMerge(Flushes(3, 1, /*sealed=*/0), Policy(), 299 * kSec, false));
  pick = PickMerge(Flushes(3, 1, /*sealed=*/0), Policy(), 300 * kSec, false);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->ids.size(), 3u);
}

TEST(MergePolicy, FilesInARunningMergeOrNotWalSafeAreLeftAlone) {
  auto files = Flushes(70, 1);
  for (auto& f : files) f.mergeable = f.id > 10;  // 60 left: below the count
  EXPECT_FALSE(PickMerge(files, Policy(), 10 * kSec, false));
}

TEST(MergePolicy, SmallSegmentsMergeInFansAndFinalOnesNever) {
  std::vector<MergeFile> files;
  for (int i = 0; i < 7; i++) files.push_back(MergeFile{100 + i, 1, 20 * kMiB, i * 100, i * 100 + 99, 0, true});
  files.push_back(MergeFile{200, 2, 200 * kMiB, 0, 1, 0, true});  // final: >= half of segment_bytes
  EXPECT_FALSE(PickMerge(files, Policy(), 0, false));  // 7 small: below the fan-in
  files.push_back(MergeFile{107, 1, 20 * kMiB, 700, 799, 0, true});
  auto pick = PickMerge(files, Policy(), 0, false);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->ids.size(), 8u);
  EXPECT_EQ(pick->output_level, 2);
  for (int64_t id : pick->ids) EXPECT_NE(id, 200);
}

TEST(MergePolicy, ForceMergesWhatIsLeftAndStopsAtTheFinalLayout) {
  std::vector<MergeFile> files = Flushes(2, 1);
  auto pick = PickMerge(files, Policy(), 0, true);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->ids.size(), 2u);
  files = {MergeFile{1, 1, 10 * kMiB, 0, 1, 0, true}, MergeFile{2, 1, 10 * kMiB, 2, 3, 0, true}};
  pick = PickMerge(files, Policy(), 0, true);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->ids.size(), 2u);
  files = {MergeFile{1, 1, 10 * kMiB, 0, 1, 0, true}};  // one small segment: nothing to do
  EXPECT_FALSE(PickMerge(files, Policy(), 0, true));
}

TEST(MergePolicy, BacklogCountsWhatIsDue) {
  auto files = Flushes(3, 2, /*sealed=*/5);
  files.push_back(MergeFile{50, 1, 10 * kMiB, 0, 1, 0, true});  // one small segment: not due
  Backlog b = BacklogOf(files, Policy(), 15 * kSec);
  EXPECT_EQ(b.flush_files, 3u);
  EXPECT_EQ(b.files, 3u);
  EXPECT_EQ(b.bytes, 6 * kMiB);
  EXPECT_DOUBLE_EQ(b.lag_seconds, 10.0);
}

TEST(FileName, NamesRoundTrip) {
  ParsedName p = ParseFileName(FlushFileName(3, 42));
  EXPECT_EQ(p.type, FileType::kFlush);
  EXPECT_EQ(p.bucket, 3u);
  EXPECT_EQ(p.seq, 42u);
  p = ParseFileName(SegmentFileName(-5, 1700000000000000000, 7));
  EXPECT_EQ(p.type, FileType::kSegment);
  EXPECT_EQ(p.min_ts, -5);
  EXPECT_EQ(p.max_ts, 1700000000000000000);
  EXPECT_EQ(p.id, 7u);
  p = ParseFileName(SegmentFileName(-9, -5, 1));
  EXPECT_EQ(p.type, FileType::kSegment);
  EXPECT_EQ(p.min_ts, -9);
  EXPECT_EQ(p.max_ts, -5);
  EXPECT_EQ(ParseFileName(TempName(FlushFileName(0, 1))).type, FileType::kTemp);
  EXPECT_EQ(ParseFileName(ScratchName(SegmentFileName(1, 2, 3))).type, FileType::kTemp);
  EXPECT_EQ(ParseFileName(CorruptName(SegmentFileName(1, 2, 3))).type, FileType::kCorrupt);
  for (const char* bad : {"flush-x-1.sqlite.zst", "flush-1.sqlite.zst", "segment-1-2.sqlite.zst", "catalog.sqlite",
                          "LOCK", "segment-a-b-c.sqlite.zst"}) {
    EXPECT_EQ(ParseFileName(bad).type, FileType::kUnknown) << bad;
  }
}

}  // namespace
}  // namespace loge::store
