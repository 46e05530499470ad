#include "wal/checkpointer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "wal/record.h"
#include "wal/wal.h"
#include "wal/wal_test_util.h"

namespace loge::wal {
namespace {

using testing::ScratchDir;

std::vector<uint64_t> Seqs(uint64_t first, uint64_t last) {
  std::vector<uint64_t> v(last - first + 1);
  std::iota(v.begin(), v.end(), first);
  return v;
}

TEST(SeqTracker, WatermarkIsZeroBeforeAnyRegistration) {
  SeqTracker t;
  EXPECT_EQ(t.Watermark(), 0u);
  t.Done({1, 2});  // unknown seqs change nothing
  EXPECT_EQ(t.Watermark(), 0u);
  EXPECT_EQ(t.Pending(), 0u);
}

TEST(SeqTracker, WatermarkWaitsForTheOldestUnfinishedSeq) {
  SeqTracker t;
  for (uint64_t s = 1; s <= 3; s++) t.Begin(s, 1);
  EXPECT_EQ(t.Watermark(), 0u);
  t.Done({2});
  EXPECT_EQ(t.Watermark(), 0u);  // 1 is not done: 2 must not count yet
  EXPECT_EQ(t.Pending(), 2u);
  t.Done({1});
  EXPECT_EQ(t.Watermark(), 2u);
  t.Done({3});
  EXPECT_EQ(t.Watermark(), 3u);
  EXPECT_EQ(t.Pending(), 0u);
}

TEST(SeqTracker, SeqIsDoneOnlyWhenAllItsPartsAre) {
  SeqTracker t;
  t.Begin(1, 3);
  t.Begin(2, 1);
  t.Done({1, 2});
  EXPECT_EQ(t.Watermark(), 0u);
  t.Done({1});
  EXPECT_EQ(t.Watermark(), 0u);
  t.Done({1});
  EXPECT_EQ(t.Watermark(), 2u);
  t.Done({1});  // an extra report for a finished seq is ignored
  EXPECT_EQ(t.Watermark(), 2u);
}

TEST(SeqTracker, ZeroPartsIsDoneAtOnce) {
  SeqTracker t;
  t.Begin(1, 0);
  EXPECT_EQ(t.Watermark(), 1u);
  EXPECT_EQ(t.Pending(), 0u);
  t.Begin(2, 1);
  t.Begin(3, 0);
  EXPECT_EQ(t.Watermark(), 1u);  // 3 is done but 2 is not
  t.Done({2});
  EXPECT_EQ(t.Watermark(), 3u);
}

// A WAL with 4 records per file (66-byte records, 200-byte segments) whose
// appends register one part each in the tracker.
class CheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options opts;
    opts.dir = dir_.Sub("wal");
    opts.segment_bytes = 200;
    auto wal = Wal::Open(opts, nullptr, nullptr);
    ASSERT_TRUE(wal.ok()) << wal.status().ToString();
    wal_ = std::move(wal).value();
  }

  CheckpointerOptions CpOpts(std::chrono::milliseconds interval = std::chrono::hours(1)) {
    CheckpointerOptions o;
    o.interval = interval;  // by default no pass runs on its own
    o.output_dir = dir_.path();
    return o;
  }

  void Append(uint64_t n, uint32_t parts = 1) {
    for (uint64_t i = 0; i < n; i++) {
      auto seq = wal_->Append(std::string(50, 'x'), /*wait=*/true,
                              [&](uint64_t s) { tracker_.Begin(s, parts); });
      ASSERT_TRUE(seq.ok()) << seq.status().ToString();
    }
  }

  std::vector<std::string> WalFiles() {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_.Sub("wal"))) {
      names.push_back(e.path().filename());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  ScratchDir dir_;
  SeqTracker tracker_;
  std::unique_ptr<Wal> wal_;
};

TEST_F(CheckpointerTest, RunOnceDeletesWalFilesAfterReport) {
  Checkpointer cp(CpOpts(), &tracker_, wal_.get());
  Append(38);  // files 1, 5, ..., 37
  ASSERT_EQ(wal_->FileCount(), 10u);

  ASSERT_TRUE(cp.TEST_RunOnce().ok());
  EXPECT_EQ(cp.watermark(), 0u);
  EXPECT_EQ(wal_->FileCount(), 10u);  // nothing flushed, nothing deleted

  cp.Report(Seqs(1, 36));
  ASSERT_TRUE(cp.TEST_RunOnce().ok());
  EXPECT_EQ(cp.watermark(), 36u);
  EXPECT_EQ(wal_->FileCount(), 1u);
  EXPECT_EQ(WalFiles(), std::vector<std::string>{FileName(37)});
}

TEST_F(CheckpointerTest, UnflushedPartHoldsBackDeletion) {
  Checkpointer cp(CpOpts(), &tracker_, wal_.get());
  Append(11, /*parts=*/2);  // files 1, 5, and 9 (active) with 9..11
  cp.Report(Seqs(1, 11));  // one bucket flushed its part of every record
  ASSERT_TRUE(cp.TEST_RunOnce().ok());
  EXPECT_EQ(cp.watermark(), 0u);
  EXPECT_EQ(wal_->FileCount(), 3u);

  cp.Report(Seqs(1, 6));  // the other bucket, partly
  ASSERT_TRUE(cp.TEST_RunOnce().ok());
  EXPECT_EQ(cp.watermark(), 6u);
  EXPECT_EQ(WalFiles(), (std::vector<std::string>{FileName(5), FileName(9)}));
}

TEST_F(CheckpointerTest, StopRunsAFinalPass) {
  Checkpointer cp(CpOpts(), &tracker_, wal_.get());
  Append(7);  // files 1, and 5 (active) with 5..7
  cp.Report(Seqs(1, 7));
  cp.Stop();
  EXPECT_EQ(cp.watermark(), 7u);
  // File 1 is gone; 5 is caught up, so the pass also asked for a new active
  // file (8), which the WAL's writer may not have made yet.
  auto files = WalFiles();
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files[0], FileName(5));
  EXPECT_LE(files.size(), 2u);
  cp.Stop();  // idempotent; the destructor calls it once more
}

TEST_F(CheckpointerTest, ThreadRunsAPassEveryInterval) {
  Checkpointer cp(CpOpts(std::chrono::milliseconds(5)), &tracker_, wal_.get());
  Append(7);  // files 1, and 5 (active) with 5..7
  cp.Report(Seqs(1, 7));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  // Passes go on: 5 is caught up, so it is rotated away and deleted, and the
  // WAL keeps only an empty file.
  while ((cp.watermark() != 7 || WalFiles() != std::vector<std::string>{FileName(8)}) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling, with a deadline
  }
  EXPECT_EQ(cp.watermark(), 7u);
  EXPECT_EQ(WalFiles(), std::vector<std::string>{FileName(8)});
  EXPECT_EQ(wal_->BytesOnDisk(), 0u);
}

// Steady ingest: 3000 pushes; every 100 a flush writes everything but the
// newest 100 (the head) and reports it. The WAL must hold only that tail: at
// most 200 unflushed records = 13 files of 16 records, plus the active one,
// although ingest creates ~190 files in all.
TEST(Checkpointer, UnderSteadyIngestTheWalHoldsOnlyTheUnflushedTail) {
  constexpr uint64_t kPushes = 3000;
  constexpr uint64_t kFlushEvery = 100;
  constexpr uint64_t kHeadRecords = 100;
  constexpr uint64_t kRecordBytes = kHeaderBytes + 50;
  constexpr uint64_t kSegmentBytes = 1024;  // rotates after 16 records
  constexpr size_t kMaxFiles = 15;

  ScratchDir dir;
  Options opts;
  opts.dir = dir.Sub("wal");
  opts.segment_bytes = kSegmentBytes;
  opts.sync = false;  // durability is not under test; speed is welcome
  auto opened = Wal::Open(opts, nullptr, nullptr);
  ASSERT_TRUE(opened.ok());
  auto wal = std::move(opened).value();
  SeqTracker tracker;
  CheckpointerOptions cp_opts;
  cp_opts.interval = std::chrono::hours(1);
  cp_opts.output_dir = dir.path();
  Checkpointer cp(cp_opts, &tracker, wal.get());

  uint64_t flushed = 0;
  size_t max_files = 0;
  uint64_t max_bytes = 0;
  for (uint64_t seq = 1; seq <= kPushes; seq++) {
    auto got = wal->Append(std::string(50, 'y'), /*wait=*/true,
                           [&](uint64_t s) { tracker.Begin(s, 1); });
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(*got, seq);
    if (seq % kFlushEvery == 0 && seq > kHeadRecords) {
      cp.Report(Seqs(flushed + 1, seq - kHeadRecords));
      flushed = seq - kHeadRecords;
      ASSERT_TRUE(cp.TEST_RunOnce().ok());
      EXPECT_EQ(cp.watermark(), flushed);
    }
    max_files = std::max(max_files, wal->FileCount());
    max_bytes = std::max(max_bytes, wal->BytesOnDisk());
  }
  EXPECT_LE(max_files, kMaxFiles);
  EXPECT_LE(max_bytes, kMaxFiles * (kSegmentBytes + kRecordBytes));
  cp.Stop();
  ASSERT_TRUE(wal->Close().ok());
  wal.reset();

  // A restart replays the unflushed tail, and at most one file's worth of
  // records below the watermark.
  std::vector<uint64_t> replayed;
  auto reopened = Wal::Open(
      opts,
      [&](uint64_t s, std::string_view) {
        replayed.push_back(s);
        return Status::OK();
      },
      nullptr);
  ASSERT_TRUE(reopened.ok());
  ASSERT_FALSE(replayed.empty());
  EXPECT_EQ(replayed.back(), kPushes);
  EXPECT_LE(replayed.front(), flushed + 1);
  EXPECT_GT(replayed.front() + kSegmentBytes / kRecordBytes, flushed);
  EXPECT_EQ(replayed, Seqs(replayed.front(), kPushes));
}

}  // namespace
}  // namespace loge::wal
