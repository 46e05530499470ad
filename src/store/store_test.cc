#include "store/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>

#include <sqlite3.h>

#include "store/flushed_seqs.h"
#include "store/test_files.h"
#include "io/file_system.h"

namespace loge::store {
namespace {

std::string TempDir() { return NewTestDir("ingest"); }

Payload MakePayload(const std::string& app, int64_t ts0, int n, const std::string& prefix) {
  Payload p;
  Stream s;
  s.labels = {{"app", app}};
  for (int i = 0; i < n; i++) s.entries.push_back({ts0 + i, prefix + std::to_string(i), ""});
  p.streams.push_back(std::move(s));
  return p;
}

std::vector<query::Hit> QueryAll(Store* ing) {
  query::Engine engine(query::EngineOptions{}, ing);
  query::Query q;
  q.limit = query::kMaxLimit;
  auto r = engine.Run(q);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->hits : std::vector<query::Hit>{};
}

size_t CountFiles(const std::string& dir, const std::string& prefix) {
  auto names = io::DefaultFileSystem()->ListDir(dir);
  size_t n = 0;
  for (const auto& name : *names) n += name.rfind(prefix, 0) == 0;
  return n;
}

StoreOptions Opts(const std::string& dir) {
  return WhenToldOptions(dir);
}

TEST(Store, PushedRowsAreQueryableBeforeAndAfterFlush) {
  std::string dir = TempDir();
  auto ing = Store::Open(Opts(dir));
  ASSERT_TRUE(ing.ok()) << ing.status().ToString();
  ASSERT_TRUE((*ing)->Push(MakePayload("web", 100, 10, "w")).ok());
  ASSERT_TRUE((*ing)->Push(MakePayload("api", 200, 5, "a")).ok());
  EXPECT_EQ(QueryAll(ing->get()).size(), 15u);
  EXPECT_EQ(CountFiles(dir, "flush-"), 0u);
  ASSERT_TRUE((*ing)->FlushAll().ok());
  EXPECT_GE(CountFiles(dir, "flush-"), 1u);
  auto hits = QueryAll(ing->get());
  ASSERT_EQ(hits.size(), 15u);
  EXPECT_EQ(hits.front().ts, 204);
  EXPECT_EQ((*ing)->LabelKeys(), std::vector<std::string>{"app"});
  EXPECT_EQ((*ing)->Stats().head_rows, 0u);
}

// The nice values of this process's threads, from /proc/self/task/*/stat
// (field 19, after the command name in parentheses).
std::multiset<int> ThreadNices() {
  std::multiset<int> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream f(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 19 && rest >> field; i++) {
      if (i == 19) out.insert(std::stoi(field));
    }
  }
  return out;
}

// The merge threads run at their nice value, so the threads people wait on
// (pushes, queries) and the flush get the cores first.
TEST(Store, MergeThreadsRunAtTheirNiceValue) {
  std::string dir = TempDir();
  StoreOptions o = Opts(dir);
  o.merge_interval = std::chrono::hours(1);  // merge threads start, and wait
  o.merge_threads = 2;
  o.merge_nice = 9;
  auto ing = Store::Open(o);
  ASSERT_TRUE(ing.ok()) << ing.status().ToString();
  // Each thread sets its value as it starts: wait for that, not for a time.
  EXPECT_TRUE(Eventually([] { return ThreadNices().count(9) == 2; }));
  ASSERT_TRUE((*ing)->Push(MakePayload("web", 100, 10, "w")).ok());
  ASSERT_TRUE((*ing)->FlushAll().ok());
  EXPECT_EQ(QueryAll(ing->get()).size(), 10u);
}

// The filters of published files are held in memory, and stats say how
// much: it grows with the rows stored, and a merge replaces the flush
// files' filters and kept id keys with the segment's.
TEST(Store, StatsCountTheFilterMemoryOfPublishedFiles) {
  std::string dir = TempDir();
  auto ing = Store::Open(Opts(dir));
  ASSERT_TRUE(ing.ok()) << ing.status().ToString();
  EXPECT_EQ((*ing)->Stats().filter_memory_bytes, 0u);
  // Lines with a request id each: id keys in every group.
  ASSERT_TRUE((*ing)->Push(MakePayload("web", 100, 2000, "GET /x request_id=4bf92f3577b34da6a3ce929d0e0e")).ok());
  EXPECT_EQ((*ing)->Stats().filter_memory_bytes, 0u);  // in the head: no file yet
  ASSERT_TRUE((*ing)->FlushAll().ok());
  const uint64_t one = (*ing)->Stats().filter_memory_bytes;
  EXPECT_GT(one, 2000u);  // at least a byte per line
  ASSERT_TRUE((*ing)->Push(MakePayload("web", 5000, 2000, "GET /y request_id=00f067aa0ba902b7c5d9e1a2")).ok());
  ASSERT_TRUE((*ing)->FlushAll().ok());
  EXPECT_GT((*ing)->Stats().filter_memory_bytes, one);
}

TEST(Store, PayloadSizeSealsABatch) {
  std::string dir = TempDir();
  auto o = Opts(dir);
  o.payload_size = 10;
  o.buckets = 1;
  auto ing = Store::Open(o);
  ASSERT_TRUE(ing.ok());
  ASSERT_TRUE((*ing)->Push(MakePayload("web", 0, 25, "x")).ok());
  // The batch sealed at payload_size is written by a worker: wait for it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (CountFiles(dir, "flush-") == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(CountFiles(dir, "flush-"), 1u);
  EXPECT_EQ(QueryAll(ing->get()).size(), 25u);
}

TEST(Store, CleanRestartKeepsEveryRowOnceAndEmptiesTheWal) {
  std::string dir = TempDir();
  {
    auto ing = Store::Open(Opts(dir));
    ASSERT_TRUE(ing.ok());
    for (int i = 0; i < 20; i++) ASSERT_TRUE((*ing)->Push(MakePayload("web", i * 100, 10, "r")).ok());
    ASSERT_TRUE((*ing)->Close().ok());
  }
  auto ing = Store::Open(Opts(dir));
  ASSERT_TRUE(ing.ok());
  EXPECT_EQ((*ing)->Stats().replayed_records, 0u);
  EXPECT_EQ(QueryAll(ing->get()).size(), 200u);
}

TEST(Store, ReplayRestoresUnflushedRows) {
  std::string dir = TempDir();
  std::string copy = TempDir();
  {
    auto ing = Store::Open(Opts(dir));
    ASSERT_TRUE(ing.ok());
    for (int i = 0; i < 5; i++) ASSERT_TRUE((*ing)->Push(MakePayload("web", i * 100, 10, "r")).ok());
    // A crash now: copy the durable state while the store still runs.
    ASSERT_EQ(std::system(("cp -a " + dir + "/. " + copy + "/").c_str()), 0);
  }
  auto ing = Store::Open(Opts(copy));
  ASSERT_TRUE(ing.ok()) << ing.status().ToString();
  EXPECT_EQ((*ing)->Stats().replayed_records, 5u);
  EXPECT_EQ(QueryAll(ing->get()).size(), 50u);
}

TEST(Store, ReplayDoesNotDuplicateRowsAlreadyFlushed) {
  std::string dir = TempDir();
  std::string copy = TempDir();
  {
    auto o = Opts(dir);
    o.buckets = 3;
    auto ing = Store::Open(o);
    ASSERT_TRUE(ing.ok());
    for (int i = 0; i < 4; i++) {
      Payload p = MakePayload("web", i * 100, 10, "a");
      Payload q = MakePayload("api", i * 100, 10, "b");
      p.streams.push_back(std::move(q.streams[0]));
      ASSERT_TRUE((*ing)->Push(std::move(p)).ok());
    }
    ASSERT_TRUE((*ing)->FlushAll().ok());
    ASSERT_TRUE((*ing)->Push(MakePayload("db", 1000, 10, "c")).ok());  // stays in the WAL only
    // Crash after the flush, before any checkpoint trimmed the WAL.
    ASSERT_EQ(std::system(("cp -a " + dir + "/. " + copy + "/").c_str()), 0);
  }
  auto o = Opts(copy);
  o.buckets = 5;  // a different bucket count must not confuse the dedup
  auto ing = Store::Open(o);
  ASSERT_TRUE(ing.ok()) << ing.status().ToString();
  auto hits = QueryAll(ing->get());
  EXPECT_EQ(hits.size(), 90u);
  std::set<std::pair<int64_t, std::string>> seen;
  for (const auto& h : hits) EXPECT_TRUE(seen.insert({h.ts, h.labels_json + h.line}).second) << h.line;
}

TEST(Store, CheckpointTrimsTheWalBehindFlushes) {
  std::string dir = TempDir();
  auto ing = Store::Open(Opts(dir));
  ASSERT_TRUE(ing.ok());
  for (int i = 0; i < 10; i++) ASSERT_TRUE((*ing)->Push(MakePayload("web", i, 10, "x")).ok());
  ASSERT_TRUE((*ing)->FlushAll().ok());
  ASSERT_TRUE((*ing)->TEST_Checkpoint().ok());
  EXPECT_EQ((*ing)->Stats().watermark, 10u);
}

TEST(Store, SaturatedHeadAnswersResourceExhausted) {
  std::string dir = TempDir();
  auto o = Opts(dir);
  o.max_head_bytes = 4096;
  o.drop_on_backpressure = true;
  auto ing = Store::Open(o);
  ASSERT_TRUE(ing.ok());
  Status st;
  int accepted = 0;
  for (int i = 0; i < 100 && st.ok(); i++) {
    st = (*ing)->Push(MakePayload("web", i * 10, 5, std::string(50, 'x')));
    if (st.ok()) accepted++;
  }
  EXPECT_EQ(st.code(), Code::kResourceExhausted);
  EXPECT_EQ(QueryAll(ing->get()).size(), static_cast<size_t>(accepted) * 5);
  // Once flushed, there is room again.
  ASSERT_TRUE((*ing)->FlushAll().ok());
  EXPECT_TRUE((*ing)->Push(MakePayload("web", 0, 1, "y")).ok());
}

TEST(Store, ReconcileReregistersFilesTheCatalogLost) {
  std::string dir = TempDir();
  {
    auto ing = Store::Open(Opts(dir));
    ASSERT_TRUE(ing.ok());
    for (int i = 0; i < 3; i++) {
      ASSERT_TRUE((*ing)->Push(MakePayload("web", i * 100, 10, "r")).ok());
      ASSERT_TRUE((*ing)->FlushAll().ok());
    }
    ASSERT_TRUE((*ing)->Close().ok());
  }
  ASSERT_EQ(std::system(("rm " + dir + "/catalog.sqlite*").c_str()), 0);
  auto ing = Store::Open(Opts(dir));
  ASSERT_TRUE(ing.ok()) << ing.status().ToString();
  EXPECT_EQ((*ing)->Stats().files, 3u);
  EXPECT_EQ(QueryAll(ing->get()).size(), 30u);
}

TEST(Store, ReconcileDropsMissingFilesAndDeletesLeftovers) {
  std::string dir = TempDir();
  std::string victim;
  {
    auto ing = Store::Open(Opts(dir));
    ASSERT_TRUE(ing.ok());
    for (int i = 0; i < 2; i++) {
      ASSERT_TRUE((*ing)->Push(MakePayload("web", i * 100, 10, "r")).ok());
      ASSERT_TRUE((*ing)->FlushAll().ok());
    }
    ASSERT_TRUE((*ing)->Close().ok());
  }
  auto names = io::DefaultFileSystem()->ListDir(dir);
  for (const auto& n : *names) {
    if (n.rfind("flush-", 0) == 0) victim = n;
  }
  ASSERT_FALSE(victim.empty());
  ASSERT_TRUE(io::DefaultFileSystem()->Remove(dir + "/" + victim).ok());
  ASSERT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), dir + "/flush-0-99.sqlite.zst.tmp", "partial").ok());
  ASSERT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), dir + "/segment-1-2-3.sqlite.zst", "uncommitted").ok());
  ASSERT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), dir + "/flush-0-98.sqlite.zst", "garbage").ok());
  auto ing = Store::Open(Opts(dir));
  ASSERT_TRUE(ing.ok()) << ing.status().ToString();
  EXPECT_EQ((*ing)->Stats().files, 1u);
  EXPECT_EQ(QueryAll(ing->get()).size(), 10u);
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(dir + "/flush-0-99.sqlite.zst.tmp"));
  // The catalog is intact and does not name it: its merge never committed.
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(dir + "/segment-1-2-3.sqlite.zst"));
  // Not a readable data file: kept for a human, out of the way.
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(dir + "/flush-0-98.sqlite.zst"));
  EXPECT_TRUE(io::DefaultFileSystem()->Exists(dir + "/quarantine/flush-0-98.sqlite.zst"));
  EXPECT_EQ((*ing)->Stats().files_quarantined, 1u);
}

TEST(Store, SeqsContinueWhenTheWalDirectoryIsWiped) {
  std::string dir = TempDir();
  std::string copy = TempDir();
  {
    auto ing = Store::Open(Opts(dir));
    ASSERT_TRUE(ing.ok());
    for (int i = 0; i < 5; i++) ASSERT_TRUE((*ing)->Push(MakePayload("web", i * 100, 10, "old")).ok());
    ASSERT_TRUE((*ing)->FlushAll().ok());
    ASSERT_TRUE((*ing)->TEST_Checkpoint().ok());
    ASSERT_TRUE((*ing)->Close().ok());
  }
  ASSERT_EQ(std::system(("rm -rf " + dir + "/wal").c_str()), 0);
  {
    auto ing = Store::Open(Opts(dir));
    ASSERT_TRUE(ing.ok());
    for (int i = 0; i < 3; i++) ASSERT_TRUE((*ing)->Push(MakePayload("api", i * 100, 10, "new")).ok());
    // Crash with the new rows only in the WAL: they must not look already
    // stored (persisted watermark, flush files' seqs) after the restart.
    ASSERT_EQ(std::system(("cp -a " + dir + "/. " + copy + "/").c_str()), 0);
  }
  auto ing = Store::Open(Opts(copy));
  ASSERT_TRUE(ing.ok());
  EXPECT_EQ(QueryAll(ing->get()).size(), 80u);
}

TEST(Store, ASecondProcessCannotOpenTheSameDirectory) {
  std::string dir = TempDir();
  auto a = Store::Open(Opts(dir));
  ASSERT_TRUE(a.ok());
  auto b = Store::Open(Opts(dir));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kUnavailable);
  EXPECT_NE(b.status().message().find("another loge"), std::string::npos) << b.status().ToString();
  // The holder wrote its pid into LOCK, and the refusal names it.
  const std::string pid = std::to_string(::getpid());
  EXPECT_NE(b.status().message().find("(pid " + pid + ")"), std::string::npos) << b.status().ToString();
  std::ifstream lock(dir + "/LOCK");
  std::string content;
  std::getline(lock, content);
  EXPECT_EQ(content, pid);
  a->reset();
  EXPECT_TRUE(Store::Open(Opts(dir)).ok());  // the lock goes with the store
}

// Once every pushed row is in a file, two checkpoint passes leave the WAL
// with no bytes (the first rotates the caught-up file, the second deletes it).
TEST(Store, CaughtUpWalLeavesNothingBehind) {
  std::string dir = TempDir();
  auto ing = Store::Open(Opts(dir));
  ASSERT_TRUE(ing.ok());
  for (int i = 0; i < 10; i++) ASSERT_TRUE((*ing)->Push(MakePayload("web", i, 10, "x")).ok());
  ASSERT_TRUE((*ing)->FlushAll().ok());
  ASSERT_GT((*ing)->Stats().wal_bytes, 0u);
  ASSERT_TRUE((*ing)->TEST_Checkpoint().ok());
  // The rotation runs on the WAL's writer thread: wait for the new file.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((*ing)->Stats().wal_files < 2 && (*ing)->Stats().wal_bytes > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_TRUE((*ing)->TEST_Checkpoint().ok());
  EXPECT_EQ((*ing)->Stats().wal_bytes, 0u);
  EXPECT_EQ((*ing)->Stats().wal_files, 1u);
  // Pushing again works, into the new file.
  ASSERT_TRUE((*ing)->Push(MakePayload("web", 500, 3, "y")).ok());
  EXPECT_EQ(QueryAll(ing->get()).size(), 103u);
}

// A catalog write that fails after the flush file is in place (here another
// process holds catalog.sqlite's write lock, as an operator's sqlite3 shell
// or a backup may) is retried for the same file: no second copy is written,
// and after a restart every row is there once.
TEST(Store, FailedCatalogInsertIsRetriedWithoutASecondCopy) {
  std::string dir = TempDir();
  std::string copy = TempDir();
  auto ing = Store::Open(Opts(dir));
  ASSERT_TRUE(ing.ok());
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/catalog.sqlite").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_TRUE((*ing)->Push(MakePayload("web", 0, 10, "x")).ok());
  std::thread flusher([&] { EXPECT_TRUE((*ing)->FlushAll().ok()); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((*ing)->Stats().flush_failures == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a condition
  }
  ASSERT_GT((*ing)->Stats().flush_failures, 0u);
  EXPECT_EQ(CountFiles(dir, "flush-"), 1u);
  // A crash now, with the file in place but not cataloged.
  ASSERT_EQ(std::system(("cp -a " + dir + "/. " + copy + "/").c_str()), 0);
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  flusher.join();
  EXPECT_EQ(CountFiles(dir, "flush-"), 1u);
  EXPECT_EQ(QueryAll(ing->get()).size(), 10u);
  auto recovered = Store::Open(Opts(copy));
  ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
  EXPECT_EQ(CountFiles(copy, "flush-"), 1u);
  EXPECT_EQ(QueryAll(recovered->get()).size(), 10u);
}

TEST(FlushedSeqs, RangesRoundTripAndMerge) {
  EXPECT_EQ(EncodeSeqRanges({5, 1, 2, 3, 3, 9, 10}), "1-3,5,9-10");
  auto r = DecodeSeqRanges("1-3,5,9-10");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 3u);
  EXPECT_FALSE(DecodeSeqRanges("3-1").ok());
  EXPECT_FALSE(DecodeSeqRanges("a").ok());
  FlushedSeqs f;
  f.Add(2, 1, *r);
  f.Add(2, 1, {{4, 4}});
  EXPECT_TRUE(f.Contains(4, 3));   // 3 % 2 == 1
  EXPECT_FALSE(f.Contains(4, 2));  // other bucket
  EXPECT_FALSE(f.Contains(6, 3));
}

}  // namespace
}  // namespace loge::store
