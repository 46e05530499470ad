#include "wal/wal.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "wal/record.h"
#include "wal/wal_test_util.h"

namespace loge::wal {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;
using testing::TestFileSystem;

using Records = std::vector<std::pair<uint64_t, std::string>>;

// A payload of exactly `bytes` bytes that names i.
std::string Payload(uint64_t i, size_t bytes = 50) {
  std::string p = "record-" + std::to_string(i) + "-";
  p.resize(bytes, static_cast<char>('a' + i % 26));
  return p;
}

// With 50-byte payloads a record is 66 bytes, so a 200-byte segment rotates
// after every 4th record when each record is its own batch (wait=true).
constexpr uint64_t kSmallSegment = 200;

Options Opts(const std::string& dir, uint64_t segment_bytes = 64ull << 20) {
  Options o;
  o.dir = dir;
  o.segment_bytes = segment_bytes;
  return o;
}

std::unique_ptr<Wal> OpenOrDie(const Options& opts, Records* out = nullptr,
                               ReplayStats* stats = nullptr) {
  auto wal = Wal::Open(
      opts,
      [out](uint64_t seq, std::string_view payload) {
        if (out) out->emplace_back(seq, std::string(payload));
        return Status::OK();
      },
      stats);
  EXPECT_TRUE(wal.ok()) << wal.status().ToString();
  return wal.ok() ? std::move(wal).value() : nullptr;
}

uint64_t AppendOrDie(Wal* wal, std::string_view payload, bool wait = true) {
  auto seq = wal->Append(payload, wait, nullptr);
  EXPECT_TRUE(seq.ok()) << seq.status().ToString();
  return seq.ok() ? *seq : 0;
}

// name -> size of every entry in dir.
std::map<std::string, uint64_t> ListDir(const std::string& dir) {
  std::map<std::string, uint64_t> out;
  for (const auto& e : fs::directory_iterator(dir)) out[e.path().filename()] = e.file_size();
  return out;
}

Records Expected(uint64_t first, uint64_t last) {
  Records r;
  for (uint64_t i = first; i <= last; i++) r.emplace_back(i, Payload(i));
  return r;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

TEST(Wal, AppendThenReopenReplaysAllRecordsInOrder) {
  ScratchDir dir;
  {
    auto wal = OpenOrDie(Opts(dir.path()));
    for (uint64_t i = 1; i <= 100; i++) {
      EXPECT_EQ(AppendOrDie(wal.get(), Payload(i), /*wait=*/i % 7 == 0), i);
    }
    ASSERT_TRUE(wal->Close().ok());
  }
  Records got;
  ReplayStats stats;
  auto wal = OpenOrDie(Opts(dir.path()), &got, &stats);
  EXPECT_EQ(got, Expected(1, 100));
  EXPECT_EQ(stats.files, 2u);  // the records, and the empty file 101 Close ended on
  EXPECT_EQ(stats.records, 100u);
  EXPECT_EQ(stats.dropped_bytes, 0u);
  EXPECT_EQ(stats.max_seq, 100u);
}

TEST(Wal, EmptyPayloadsRoundTrip) {
  ScratchDir dir;
  {
    auto wal = OpenOrDie(Opts(dir.path()));
    AppendOrDie(wal.get(), "");
    AppendOrDie(wal.get(), "x");
    AppendOrDie(wal.get(), "");
  }
  Records got;
  OpenOrDie(Opts(dir.path()), &got);
  EXPECT_EQ(got, (Records{{1, ""}, {2, "x"}, {3, ""}}));
}

TEST(Wal, TornTailEndsReplayWithoutError) {
  ScratchDir src;
  {
    auto wal = OpenOrDie(Opts(src.path()));
    for (uint64_t i = 1; i <= 3; i++) AppendOrDie(wal.get(), Payload(i, 10 * i));
  }
  const std::string name = FileName(1);
  const std::string full = ReadFile(src.Sub(name));
  const size_t last_start = full.size() - (kHeaderBytes + 30);
  ASSERT_EQ(last_start, 2 * kHeaderBytes + 10 + 20);

  for (size_t cut = last_start; cut < full.size(); cut++) {
    SCOPED_TRACE("file cut to " + std::to_string(cut) + " bytes");
    ScratchDir dir;
    WriteFile(dir.Sub(name), full.substr(0, cut));
    Records got;
    ReplayStats stats;
    Options opts = Opts(dir.path());
    opts.sync = false;  // 30 reopens; durability is not under test
    auto wal = OpenOrDie(opts, &got, &stats);
    ASSERT_NE(wal, nullptr);
    EXPECT_EQ(got, (Records{{1, Payload(1, 10)}, {2, Payload(2, 20)}}));
    EXPECT_EQ(stats.dropped_bytes, cut - last_start);
    EXPECT_EQ(stats.max_seq, 2u);
    // The torn record's seq is handed out again: it was never acknowledged.
    EXPECT_EQ(AppendOrDie(wal.get(), "again"), 3u);
  }
}

TEST(Wal, DamagedRecordIsSkippedAndLaterRecordsReplay) {
  ScratchDir dir;
  {
    auto wal = OpenOrDie(Opts(dir.path()));
    for (uint64_t i = 1; i <= 6; i++) AppendOrDie(wal.get(), Payload(i));
  }
  const std::string path = dir.Sub(FileName(1));
  std::string bytes = ReadFile(path);
  const size_t second = kHeaderBytes + 50;
  bytes[second + kHeaderBytes + 7] ^= 0x01;  // one bit of record 2's payload
  WriteFile(path, bytes);

  Records got;
  ReplayStats stats;
  OpenOrDie(Opts(dir.path()), &got, &stats);
  Records want = Expected(1, 1);
  for (auto& r : Expected(3, 6)) want.push_back(r);
  EXPECT_EQ(got, want);
  EXPECT_EQ(stats.dropped_bytes, 0u);
  ASSERT_EQ(stats.damage.size(), 1u);
  EXPECT_EQ(stats.damage[0].file, path);
  EXPECT_EQ(stats.damage[0].offset, second);
  EXPECT_EQ(stats.damage[0].bytes, 66u);
  EXPECT_EQ(stats.damage[0].records, 1u);
  EXPECT_EQ(stats.damage[0].first_seq, 2u);
  EXPECT_EQ(stats.corrupt_records, 1u);
  EXPECT_EQ(stats.corrupt_bytes, 66u);
}

// Damage anywhere in a record (its length, crc, seq or payload), or over
// several records: replay resumes at the first intact record after it, and
// the records lost are counted from the seqs around the gap.
TEST(Wal, ResyncAfterDamageAnywhereInARecord) {
  auto check = [](const std::string& label, size_t at, size_t n, uint64_t want_lost) {
    SCOPED_TRACE(label);
    ScratchDir dir;
    {
      auto wal = OpenOrDie(Opts(dir.path()));
      for (uint64_t i = 1; i <= 8; i++) AppendOrDie(wal.get(), Payload(i));
    }
    const std::string path = dir.Sub(FileName(1));
    std::string bytes = ReadFile(path);
    for (size_t i = at; i < at + n; i++) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
    WriteFile(path, bytes);
    Records got;
    ReplayStats stats;
    OpenOrDie(Opts(dir.path()), &got, &stats);
    // Every record not touched by [at, at + n) comes back, in order.
    Records want;
    for (uint64_t i = 1; i <= 8; i++) {
      const size_t start = (i - 1) * 66, end = i * 66;
      if (end <= at || start >= at + n) want.emplace_back(i, Payload(i));
    }
    EXPECT_EQ(got, want);
    EXPECT_EQ(stats.corrupt_records, want_lost);
    EXPECT_EQ(stats.dropped_bytes, 0u);
  };
  check("length of record 3", 2 * 66, 1, 1);
  check("crc of record 3", 2 * 66 + 5, 1, 1);
  check("seq of record 3", 2 * 66 + 9, 1, 1);
  check("records 3 to 5 overwritten", 2 * 66 + 3, 2 * 66 + 10, 3);
  check("the whole of record 1", 0, 66, 1);
}

// A whole last record with the expected seq and a bad crc was damaged after
// it was written (a torn write is short); it is reported, not taken for a
// torn tail.
TEST(Wal, DamagedLastRecordIsReportedNotTorn) {
  ScratchDir dir;
  {
    auto wal = OpenOrDie(Opts(dir.path()));
    for (uint64_t i = 1; i <= 3; i++) AppendOrDie(wal.get(), Payload(i));
  }
  const std::string path = dir.Sub(FileName(1));
  std::string bytes = ReadFile(path);
  bytes[2 * 66 + kHeaderBytes + 3] ^= 0x10;
  WriteFile(path, bytes);
  Records got;
  ReplayStats stats;
  OpenOrDie(Opts(dir.path()), &got, &stats);
  EXPECT_EQ(got, Expected(1, 2));
  EXPECT_EQ(stats.dropped_bytes, 0u);
  EXPECT_EQ(stats.corrupt_records, 1u);
  EXPECT_EQ(stats.corrupt_bytes, 66u);
}

// A log line that quotes a whole WAL record is not taken for one when the
// record around it is damaged: its seq is not the next one.
TEST(Wal, ResyncIgnoresARecordQuotedInsideAPayload) {
  ScratchDir dir;
  std::string quoted;
  AppendRecord(1000, "forged", &quoted);
  {
    auto wal = OpenOrDie(Opts(dir.path()));
    AppendOrDie(wal.get(), Payload(1));
    AppendOrDie(wal.get(), "xx" + quoted + "yy");
    AppendOrDie(wal.get(), Payload(3));
  }
  const std::string path = dir.Sub(FileName(1));
  std::string bytes = ReadFile(path);
  bytes[66 + 1] ^= 0x01;  // record 2's length
  WriteFile(path, bytes);
  Records got;
  ReplayStats stats;
  OpenOrDie(Opts(dir.path()), &got, &stats);
  EXPECT_EQ(got, (Records{{1, Payload(1)}, {3, Payload(3)}}));
  EXPECT_EQ(stats.corrupt_records, 1u);
}

TEST(Wal, BadRecordsEndReplayOfTheirFile) {
  auto record = [](uint64_t seq) {
    std::string out;
    AppendRecord(seq, Payload(seq), &out);
    return out;
  };
  auto check = [](const std::string& label, uint64_t file_seq, const std::string& bytes,
                  uint64_t want_records, uint64_t want_dropped) {
    SCOPED_TRACE(label);
    ScratchDir dir;
    WriteFile(dir.Sub(FileName(file_seq)), bytes);
    Records got;
    ReplayStats stats;
    auto wal = OpenOrDie(Opts(dir.path()), &got, &stats);
    EXPECT_EQ(stats.records, want_records);
    EXPECT_EQ(stats.dropped_bytes, want_dropped);
  };
  std::string huge = record(2);
  huge[0] = huge[1] = huge[2] = huge[3] = '\xff';  // length 4 GiB - 1
  std::string past_end = record(2);
  past_end[0] = 51;  // one byte more than is there

  check("intact", 1, record(1) + record(2), 2, 0);
  check("length past the cap", 1, record(1) + huge, 1, huge.size());
  check("length past the end", 1, record(1) + past_end, 1, past_end.size());
  check("partial header", 1, record(1) + std::string(7, '\0'), 1, 7);
  check("zeroed tail", 1, record(1) + std::string(100, '\0'), 1, 100);
  check("seq repeats", 1, record(1) + record(2) + record(2), 2, 66);
  check("seq goes back", 1, record(1) + record(3) + record(2), 2, 66);
  // Not a torn tail: an intact record follows, so the bad one is damage
  // (ResyncAfterDamageAnywhereInARecord), and nothing is dropped as torn.
  check("seq below the file name", 5, record(4) + record(5), 1, 0);
}

TEST(Wal, CorruptionInOneFileSkipsOnlyTheDamagedRecord) {
  ScratchDir dir;
  {
    auto wal = OpenOrDie(Opts(dir.path(), kSmallSegment));
    for (uint64_t i = 1; i <= 12; i++) AppendOrDie(wal.get(), Payload(i));
  }
  // Files 1, 5 and 9 hold 4 records each; break record 6.
  const std::string path = dir.Sub(FileName(5));
  std::string bytes = ReadFile(path);
  bytes[66 + kHeaderBytes] ^= 0x20;
  WriteFile(path, bytes);

  Records got;
  ReplayStats stats;
  OpenOrDie(Opts(dir.path(), kSmallSegment), &got, &stats);
  Records want = Expected(1, 5);
  for (auto& r : Expected(7, 12)) want.push_back(r);
  EXPECT_EQ(got, want);
  EXPECT_EQ(stats.dropped_bytes, 0u);
  EXPECT_EQ(stats.corrupt_records, 1u);
  EXPECT_EQ(stats.corrupt_bytes, 66u);
  EXPECT_EQ(stats.max_seq, 12u);
}

TEST(Wal, ReplaysRotatedFilesInOrder) {
  ScratchDir dir;
  size_t files = 0;
  {
    auto wal = OpenOrDie(Opts(dir.path(), kSmallSegment));
    for (uint64_t i = 1; i <= 38; i++) AppendOrDie(wal.get(), Payload(i));
    files = wal->FileCount();
    ASSERT_TRUE(wal->Close().ok());
  }
  EXPECT_EQ(files, 10u);  // 1, 5, ..., 37
  files++;                // Close ends on the empty file 39
  EXPECT_EQ(ListDir(dir.path()).size(), files);
  Records got;
  ReplayStats stats;
  OpenOrDie(Opts(dir.path(), kSmallSegment), &got, &stats);
  EXPECT_EQ(got, Expected(1, 38));
  EXPECT_EQ(stats.files, files);
  EXPECT_EQ(stats.dropped_bytes, 0u);
}

TEST(Wal, AppendsAfterReopenGetNextSeqInANewFile) {
  ScratchDir dir;
  {
    auto wal = OpenOrDie(Opts(dir.path()));
    for (uint64_t i = 1; i <= 5; i++) AppendOrDie(wal.get(), Payload(i));
  }
  const auto before = ListDir(dir.path());
  ASSERT_EQ(before.size(), 2u);  // the records, and the empty file 6 Close ended on
  {
    ReplayStats stats;
    auto wal = OpenOrDie(Opts(dir.path()), nullptr, &stats);
    EXPECT_EQ(stats.max_seq, 5u);
    EXPECT_EQ(wal->FileCount(), 2u);  // the empty file 6 is reused
    EXPECT_EQ(AppendOrDie(wal.get(), Payload(6)), 6u);
  }
  auto after = ListDir(dir.path());
  EXPECT_EQ(after.size(), 3u);  // 1, 6, and the empty 7 Close ended on
  EXPECT_EQ(after[FileName(1)], before.at(FileName(1)));  // the old file is untouched
  EXPECT_EQ(after[FileName(6)], kHeaderBytes + 50);

  Records got;
  OpenOrDie(Opts(dir.path()), &got);
  EXPECT_EQ(got, Expected(1, 6));
}

TEST(Wal, SeqsNeverGoBackAfterOlderFilesAreDeleted) {
  ScratchDir dir;
  {
    auto wal = OpenOrDie(Opts(dir.path(), kSmallSegment));
    for (uint64_t i = 1; i <= 8; i++) AppendOrDie(wal.get(), Payload(i));
    ASSERT_TRUE(wal->Close().ok());  // the writer has rotated to the empty file 9
    auto deleted = wal->DeleteUpTo(8);
    ASSERT_TRUE(deleted.ok());
    EXPECT_EQ(*deleted, 2);
  }
  ASSERT_EQ(ListDir(dir.path()).size(), 1u);
  ReplayStats stats;
  auto wal = OpenOrDie(Opts(dir.path(), kSmallSegment), nullptr, &stats);
  EXPECT_EQ(stats.max_seq, 0u);
  EXPECT_EQ(AppendOrDie(wal.get(), "next"), 9u);
  EXPECT_EQ(wal->FileCount(), 1u);  // the empty file 9 was reused
}

TEST(Wal, GroupCommitMakesEveryWaitedAppendDurable) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  ScratchDir dir;
  std::map<uint64_t, std::string> acked;  // seq -> payload
  {
    auto wal = OpenOrDie(Opts(dir.path()));
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
      threads.emplace_back([&, t] {
        uint64_t prev = 0;
        for (int i = 0; i < kPerThread; i++) {
          std::string payload = "thread " + std::to_string(t) + " line " + std::to_string(i);
          auto seq = wal->Append(payload, /*wait=*/true, nullptr);
          ASSERT_TRUE(seq.ok()) << seq.status().ToString();
          EXPECT_GT(*seq, prev);
          prev = *seq;
          std::lock_guard<std::mutex> l(mu);
          acked[*seq] = payload;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_TRUE(wal->Healthy());
  }
  ASSERT_EQ(acked.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(acked.begin()->first, 1u);
  EXPECT_EQ(acked.rbegin()->first, uint64_t{kThreads * kPerThread});

  Records got;
  OpenOrDie(Opts(dir.path()), &got);
  EXPECT_EQ(got, Records(acked.begin(), acked.end()));
}

TEST(Wal, GroupCommitWritesQueuedRecordsWithOneSync) {
  ScratchDir dir;
  TestFileSystem tfs;
  Options opts = Opts(dir.path());
  opts.fs = &tfs;
  auto wal = OpenOrDie(opts);
  tfs.hold_sync = true;
  AppendOrDie(wal.get(), "a", /*wait=*/false);
  tfs.WaitForHeldSync();  // the writer is inside the sync of the batch {a}
  AppendOrDie(wal.get(), "b", /*wait=*/false);
  AppendOrDie(wal.get(), "c", /*wait=*/false);
  tfs.Release();
  ASSERT_TRUE(wal->Close().ok());
  EXPECT_EQ(tfs.appends.load(), 2);  // {a}, then {b, c}
  EXPECT_EQ(tfs.file_syncs.load(), 2);

  Records got;
  OpenOrDie(Opts(dir.path()), &got);
  EXPECT_EQ(got, (Records{{1, "a"}, {2, "b"}, {3, "c"}}));
}

TEST(Wal, OnAssignedRunsInSeqOrder) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  ScratchDir dir;
  auto wal = OpenOrDie(Opts(dir.path()));
  std::vector<uint64_t> order;  // written under the WAL's ordering lock
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; i++) {
        uint64_t seen = 0;
        auto seq = wal->Append("x", /*wait=*/i % 10 == 0, [&](uint64_t s) {
          seen = s;
          order.push_back(s);
        });
        ASSERT_TRUE(seq.ok());
        EXPECT_EQ(*seq, seen);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(wal->Close().ok());
  ASSERT_EQ(order.size(), size_t{kThreads * kPerThread});
  for (size_t i = 0; i < order.size(); i++) ASSERT_EQ(order[i], i + 1);
}

TEST(Wal, DeleteUpToRemovesOnlyFilesWhollyBelowTheWatermark) {
  ScratchDir dir;
  auto wal = OpenOrDie(Opts(dir.path(), kSmallSegment));
  // 38 records: files 1, 5, ..., 33 full, 37 active with 37 and 38. Each
  // Append waits, and the writer rotates right after the batch that filled a
  // file, before it takes the next batch, so the layout is settled when the
  // last Append returns.
  for (uint64_t i = 1; i <= 38; i++) AppendOrDie(wal.get(), Payload(i));
  ASSERT_EQ(wal->FileCount(), 10u);

  auto check = [&](uint64_t watermark, int want_deleted, uint64_t first_kept) {
    SCOPED_TRACE("watermark " + std::to_string(watermark));
    auto deleted = wal->DeleteUpTo(watermark);
    ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
    EXPECT_EQ(*deleted, want_deleted);
    auto on_disk = ListDir(dir.path());
    EXPECT_EQ(on_disk.begin()->first, FileName(first_kept));
    EXPECT_EQ(wal->FileCount(), on_disk.size());
    uint64_t bytes = 0;
    for (const auto& [name, size] : on_disk) bytes += size;
    EXPECT_EQ(wal->BytesOnDisk(), bytes);
  };
  check(0, 0, 1);
  check(3, 0, 1);    // file 1 still holds 4
  check(4, 1, 5);    // file 1 is 1..4
  check(10, 1, 9);   // file 5 goes; file 9 (9..12) holds 11 and 12
  check(36, 7, 37);  // everything up to file 33 (33..36)
  check(UINT64_MAX, 0, 37);  // never the active file
  EXPECT_EQ(AppendOrDie(wal.get(), Payload(39)), 39u);
  ASSERT_TRUE(wal->Close().ok());

  Records got;
  OpenOrDie(Opts(dir.path(), kSmallSegment), &got);
  EXPECT_EQ(got, Expected(37, 39));
}

TEST(Wal, BytesOnDiskAndFileCountMatchTheDirectory) {
  ScratchDir dir;
  {
    auto wal = OpenOrDie(Opts(dir.path(), kSmallSegment));
    for (uint64_t i = 1; i <= 10; i++) AppendOrDie(wal.get(), Payload(i));
    EXPECT_EQ(wal->BytesOnDisk(), 10 * 66u);
    EXPECT_EQ(wal->FileCount(), 3u);
  }
  auto wal = OpenOrDie(Opts(dir.path(), kSmallSegment));
  EXPECT_EQ(wal->BytesOnDisk(), 10 * 66u);
  EXPECT_EQ(wal->FileCount(), 4u);  // three replayed, one new
  EXPECT_EQ(ListDir(dir.path()).size(), 4u);
}

TEST(Wal, IgnoresFilesThatAreNotWalFiles) {
  ScratchDir dir;
  const std::vector<std::string> others = {"notes.txt", "42.wal", FileName(7) + ".tmp",
                                           "0000000000000000000x.wal"};
  for (const auto& name : others) WriteFile(dir.Sub(name), "not a wal");
  ReplayStats stats;
  auto wal = OpenOrDie(Opts(dir.path()), nullptr, &stats);
  EXPECT_EQ(stats.files, 0u);
  EXPECT_EQ(wal->FileCount(), 1u);
  EXPECT_EQ(AppendOrDie(wal.get(), "x"), 1u);
  ASSERT_TRUE(wal->DeleteUpTo(UINT64_MAX).ok());
  for (const auto& name : others) EXPECT_TRUE(fs::exists(dir.Sub(name))) << name;
}

TEST(Wal, ReplayFunctionErrorAbortsOpen) {
  ScratchDir dir;
  {
    auto wal = OpenOrDie(Opts(dir.path()));
    AppendOrDie(wal.get(), "x");
  }
  auto wal = Wal::Open(
      Opts(dir.path()),
      [](uint64_t, std::string_view) { return Status::Corruption("bad payload"); }, nullptr);
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.status().code(), Code::kCorruption);
}

TEST(Wal, FailedSyncMakesAppendsUnavailable) {
  ScratchDir dir;
  TestFileSystem tfs;
  Options opts = Opts(dir.path());
  opts.fs = &tfs;
  auto wal = OpenOrDie(opts);
  EXPECT_EQ(AppendOrDie(wal.get(), "before"), 1u);
  EXPECT_TRUE(wal->Healthy());

  tfs.fail_sync = true;
  auto failed = wal->Append("during", /*wait=*/true, nullptr);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kUnavailable);
  EXPECT_NE(failed.status().message().find("injected failure"), std::string::npos);
  EXPECT_FALSE(wal->Healthy());

  tfs.fail_sync = false;  // sticky: a working disk does not bring it back
  bool called = false;
  auto later = wal->Append("after", /*wait=*/false, [&](uint64_t) { called = true; });
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.status().code(), Code::kUnavailable);
  EXPECT_NE(later.status().message().find("restart loge"), std::string::npos);
  EXPECT_FALSE(called);
  EXPECT_FALSE(wal->Close().ok());
}

TEST(Wal, SyncOffNeverFsyncs) {
  ScratchDir dir;
  TestFileSystem tfs;
  Options opts = Opts(dir.path(), kSmallSegment);
  opts.fs = &tfs;
  opts.sync = false;
  {
    auto wal = OpenOrDie(opts);
    for (uint64_t i = 1; i <= 10; i++) AppendOrDie(wal.get(), Payload(i));
    ASSERT_TRUE(wal->DeleteUpTo(8).ok());
  }
  EXPECT_EQ(tfs.file_syncs.load(), 0);
  EXPECT_EQ(tfs.dir_syncs.load(), 0);
  EXPECT_GE(tfs.appends.load(), 10);

  Records got;
  OpenOrDie(Opts(dir.path()), &got);
  EXPECT_EQ(got, Expected(9, 10));
}

TEST(Wal, SyncOnFsyncsEveryBatchAndNewFileNames) {
  ScratchDir dir;
  TestFileSystem tfs;
  Options opts = Opts(dir.path(), kSmallSegment);
  opts.fs = &tfs;
  {
    auto wal = OpenOrDie(opts);
    for (uint64_t i = 1; i <= 5; i++) AppendOrDie(wal.get(), Payload(i));
  }
  EXPECT_EQ(tfs.file_syncs.load(), 5);
  EXPECT_EQ(tfs.dir_syncs.load(), 3);  // file 1 at Open, file 5 at rotation, file 6 at Close
}

// The checkpointer asks for a new file each pass while the WAL is caught
// up. A second ask that came while the writer was still making the first
// new file (its directory fsync slow under load) started another file with
// the same first seq: the live file was then listed twice, DeleteUpTo
// unlinked it as an empty old file, and every record acknowledged into it
// afterwards was gone after a crash (found by integration_compaction's
// kill -9 test on a loaded machine).
TEST(Wal, AskingForANewFileWhileOneIsBeingMadeKeepsTheLiveFile) {
  ScratchDir dir;
  TestFileSystem tfs;
  Options opts = Opts(dir.path());
  opts.fs = &tfs;
  auto wal = OpenOrDie(opts);
  for (uint64_t i = 1; i <= 3; i++) AppendOrDie(wal.get(), Payload(i));
  tfs.hold_dir_sync = true;
  ASSERT_TRUE(wal->RotateIfIdle(3));
  tfs.WaitForHeldSync();  // the writer is making file 4: its directory fsync is held
  ASSERT_TRUE(wal->RotateIfIdle(3));  // caught up, but no second new file
  EXPECT_FALSE(wal->TEST_RotationAsked());
  tfs.Release();
  for (uint64_t i = 4; i <= 5; i++) AppendOrDie(wal.get(), Payload(i));
  ASSERT_TRUE(wal->DeleteUpTo(3).ok());  // file 1 goes; file 4 holds 4 and 5
  EXPECT_TRUE(fs::exists(fs::path(dir.path()) / FileName(4)));
  EXPECT_EQ(wal->FileCount(), 1u);
  wal.reset();  // no Close: as after a crash, nothing more is written

  Records got;
  OpenOrDie(Opts(dir.path()), &got);
  EXPECT_EQ(got, Expected(4, 5));
}

TEST(Wal, CloseIsIdempotentAndLaterAppendsFail) {
  ScratchDir dir;
  auto wal = OpenOrDie(Opts(dir.path()));
  AppendOrDie(wal.get(), "a", /*wait=*/false);
  AppendOrDie(wal.get(), "b", /*wait=*/false);
  EXPECT_TRUE(wal->Close().ok());  // drains both
  EXPECT_TRUE(wal->Close().ok());
  auto late = wal->Append("c", true, nullptr);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), Code::kUnavailable);

  Records got;
  OpenOrDie(Opts(dir.path()), &got);
  EXPECT_EQ(got, (Records{{1, "a"}, {2, "b"}}));
}

TEST(WalFileName, RoundTripsAndRejectsOtherNames) {
  uint64_t seq = 0;
  EXPECT_EQ(FileName(42), "00000000000000000042.wal");
  EXPECT_TRUE(ParseFileName(FileName(42), &seq));
  EXPECT_EQ(seq, 42u);
  EXPECT_TRUE(ParseFileName(FileName(UINT64_MAX), &seq));
  EXPECT_EQ(seq, UINT64_MAX);
  for (const char* bad : {"42.wal", "00000000000000000042.wa", "00000000000000000042.wal.tmp",
                          "99999999999999999999.wal", "-0000000000000000042.wal", ""}) {
    EXPECT_FALSE(ParseFileName(bad, &seq)) << bad;
  }
}

}  // namespace
}  // namespace loge::wal
