// Damage containment (docs/reliability.md): a damaged file is quarantined
// and the rest keeps answering; startup survives a damaged flush file, an
// unreadable catalog and stray names; a failed merge commit never leaves a
// second copy of rows behind.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>

#include "io/file_system.h"
#include "storage/verify.h"
#include "store/store.h"
#include "store/test_files.h"

namespace loge::store {
namespace {

std::string TempDir() { return NewTestDir("damage"); }

StoreOptions Opts(const std::string& dir) {
  StoreOptions o = WhenToldOptions(dir);
  o.merge_level = 1;
  o.buckets = 1;  // one flush file per flush
  return o;
}

// One flush file per call: 30 rows of "<app> line <ts>" per app.
void PushAndFlush(Store* s, int file) {
  Payload p;
  for (const char* app : {"web", "api"}) {
    Stream st;
    st.labels = {{"app", app}};
    for (int i = 0; i < 30; i++) {
      const int64_t ts = file * 1000 + i;
      st.entries.push_back({ts, std::string(app) + " line " + std::to_string(ts), ""});
    }
    p.streams.push_back(std::move(st));
  }
  ASSERT_TRUE(s->Push(std::move(p)).ok());
  ASSERT_TRUE(s->FlushAll().ok());
}

query::QueryResult QueryAll(Store* s) {
  query::Engine engine(query::EngineOptions{}, s);
  query::Query q;
  q.limit = query::kMaxLimit;
  auto r = engine.Run(q);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : query::QueryResult{};
}

// Every row exactly once; returns how many.
size_t RowsOnce(Store* s) {
  auto r = QueryAll(s);
  std::map<std::string, int> seen;
  for (const auto& h : r.hits) seen[std::to_string(h.ts) + h.labels_json + h.line]++;
  for (const auto& [k, n] : seen) EXPECT_EQ(n, 1) << "stored twice: " << k;
  return r.hits.size();
}

std::vector<std::string> Names(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> out;
  auto names = io::DefaultFileSystem()->ListDir(dir);
  if (!names.ok()) return out;
  for (const auto& n : *names) {
    if (n.rfind(prefix, 0) == 0) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Flips 16 bytes a quarter into the file: inside the compressed frames,
// clear of the seek table at the end.
void FlipBytes(const std::string& path) {
  auto data = io::ReadFileToString(io::DefaultFileSystem(), path);
  ASSERT_TRUE(data.ok());
  ASSERT_GT(data->size(), 200u);
  for (size_t i = data->size() / 4; i < data->size() / 4 + 16; i++) (*data)[i] ^= 0x5a;
  ASSERT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), path, *data).ok());
}

void Crash(const std::string& dir, const std::string& copy) {
  ASSERT_EQ(std::system(("cp -a " + dir + "/. " + copy + "/").c_str()), 0);
}

TEST(Damage, ADamagedFileIsQuarantinedAndQueriesAnswerFromTheRestAsPartial) {
  const std::string dir = TempDir();
  auto s = Store::Open(Opts(dir));
  ASSERT_TRUE(s.ok());
  for (int f = 0; f < 3; f++) PushAndFlush(s->get(), f);
  ASSERT_TRUE((*s)->TEST_Checkpoint().ok());
  const auto flushes = Names(dir, "flush-");
  ASSERT_EQ(flushes.size(), 3u);
  FlipBytes(dir + "/" + flushes[1]);
  EXPECT_EQ(storage::VerifyDataFile(io::DefaultFileSystem(), dir + "/" + flushes[1]).code(), Code::kCorruption);

  auto first = QueryAll(s->get());
  EXPECT_TRUE(first.partial);
  ASSERT_EQ(first.warnings.size(), 1u);
  EXPECT_NE(first.warnings[0].find(flushes[1]), std::string::npos) << first.warnings[0];
  EXPECT_EQ(first.hits.size(), 120u);  // the two undamaged files
  EXPECT_EQ((*s)->Stats().files_quarantined, 1u);
  EXPECT_EQ((*s)->Stats().files, 2u);
  EXPECT_TRUE(io::DefaultFileSystem()->Exists(dir + "/quarantine/" + flushes[1]));
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(dir + "/" + flushes[1]));

  auto second = QueryAll(s->get());  // the file is out of service now
  EXPECT_FALSE(second.partial);
  EXPECT_EQ(second.hits.size(), 120u);
  ASSERT_TRUE((*s)->CompactNow().ok());
  EXPECT_EQ(RowsOnce(s->get()), 120u);
  ASSERT_TRUE((*s)->Close().ok());
  s->reset();
  auto again = Store::Open(Opts(dir));  // the catalog no longer names it
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(RowsOnce(again->get()), 120u);
  EXPECT_EQ((*again)->Stats().files_quarantined, 0u);
}

TEST(Damage, MergesSkipADamagedInputAndKeepWorking) {
  const std::string dir = TempDir();
  auto s = Store::Open(Opts(dir));
  ASSERT_TRUE(s.ok());
  for (int f = 0; f < 4; f++) PushAndFlush(s->get(), f);
  ASSERT_TRUE((*s)->TEST_Checkpoint().ok());
  const auto flushes = Names(dir, "flush-");
  ASSERT_EQ(flushes.size(), 4u);
  FlipBytes(dir + "/" + flushes[2]);
  ASSERT_TRUE((*s)->CompactNow().ok());
  const StoreStats st = (*s)->Stats();
  EXPECT_EQ(st.files_quarantined, 1u);
  EXPECT_EQ(st.flush_files, 0u);
  EXPECT_EQ(st.segments, 1u);
  EXPECT_EQ(RowsOnce(s->get()), 180u);
  EXPECT_TRUE(io::DefaultFileSystem()->Exists(dir + "/quarantine/" + flushes[2]));
}

// A flush file whose rows are still in the WAL (no checkpoint covers it)
// and whose bytes are damaged: startup quarantines it and replays its rows
// from the WAL, so nothing is lost.
TEST(Damage, ADamagedFlushFileStillInTheWalIsReplayedAtStartup) {
  const std::string dir = TempDir();
  const std::string copy = TempDir();
  {
    auto s = Store::Open(Opts(dir));
    ASSERT_TRUE(s.ok());
    for (int f = 0; f < 3; f++) PushAndFlush(s->get(), f);
    Crash(dir, copy);
  }
  const auto flushes = Names(copy, "flush-");
  ASSERT_EQ(flushes.size(), 3u);
  FlipBytes(copy + "/" + flushes[0]);
  auto s = Store::Open(Opts(copy));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->Stats().files_quarantined, 1u);
  EXPECT_EQ(RowsOnce(s->get()), 180u);
  EXPECT_TRUE(io::DefaultFileSystem()->Exists(copy + "/quarantine/" + flushes[0]));
}

// A damaged file covered by a checkpoint (its rows are nowhere else) whose
// meta no longer reads: quarantined at startup, the rest serves.
TEST(Damage, StartupQuarantinesACheckpointedFileWhoseMetaDoesNotRead) {
  const std::string dir = TempDir();
  {
    auto s = Store::Open(Opts(dir));
    ASSERT_TRUE(s.ok());
    for (int f = 0; f < 2; f++) PushAndFlush(s->get(), f);
    ASSERT_TRUE((*s)->TEST_Checkpoint().ok());
    ASSERT_TRUE((*s)->Close().ok());
  }
  const auto flushes = Names(dir, "flush-");
  ASSERT_EQ(flushes.size(), 2u);
  // Truncated to its first half: no seek table.
  auto data = io::ReadFileToString(io::DefaultFileSystem(), dir + "/" + flushes[1]);
  ASSERT_TRUE(data.ok());
  ASSERT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), dir + "/" + flushes[1], data->substr(0, data->size() / 2)).ok());
  auto s = Store::Open(Opts(dir));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->Stats().files_quarantined, 1u);
  EXPECT_EQ(RowsOnce(s->get()), 60u);
}

TEST(Damage, AnUnreadableCatalogIsRebuiltFromTheFiles) {
  const std::string dir = TempDir();
  {
    auto s = Store::Open(Opts(dir));
    ASSERT_TRUE(s.ok());
    for (int f = 0; f < 3; f++) PushAndFlush(s->get(), f);
    ASSERT_TRUE((*s)->CompactNow().ok());  // a segment
    for (int f = 3; f < 5; f++) PushAndFlush(s->get(), f);
    ASSERT_TRUE((*s)->Close().ok());
  }
  std::string garbage(8192, 'x');
  ASSERT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), dir + "/catalog.sqlite", garbage).ok());
  ::unlink((dir + "/catalog.sqlite-wal").c_str());
  auto s = Store::Open(Opts(dir));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->Stats().catalog_rebuilds, 1u);
  EXPECT_EQ(RowsOnce(s->get()), 300u);
  EXPECT_TRUE(io::DefaultFileSystem()->Exists(dir + "/quarantine/catalog.sqlite"));
  ASSERT_TRUE((*s)->CompactNow().ok());  // segment ids do not collide with the adopted one
  EXPECT_EQ(RowsOnce(s->get()), 300u);
}

TEST(Damage, AStrayTmpDirectoryDoesNotStopStartup) {
  const std::string dir = TempDir();
  ASSERT_EQ(::mkdir((dir + "/left-behind.tmp").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((dir + "/flush-0-7.sqlite.zst.tmp").c_str(), 0755), 0);
  auto s = Store::Open(Opts(dir));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  PushAndFlush(s->get(), 0);
  EXPECT_EQ(RowsOnce(s->get()), 60u);
}

// A merge whose catalog commit fails leaves its output out of the catalog;
// a later merge of the same inputs commits and retires them. After a
// restart the first output must not come back as a second copy.
TEST(Damage, AFailedMergeCommitNeverComesBackAsASecondCopy) {
  const std::string dir = TempDir();
  const std::string copy = TempDir();
  {
    auto s = Store::Open(Opts(dir));
    ASSERT_TRUE(s.ok());
    for (int f = 0; f < 4; f++) PushAndFlush(s->get(), f);
    bool fail = true;
    (*s)->TEST_SetMergeHook([&](int step) {
      if (step == 4 && fail) {
        fail = false;
        return Status::IOError("injected: catalog commit failed");
      }
      return Status::OK();
    });
    EXPECT_FALSE((*s)->CompactNow().ok());
    ASSERT_TRUE((*s)->CompactNow().ok());
    EXPECT_EQ(RowsOnce(s->get()), 240u);
    EXPECT_EQ(Names(dir, "segment-").size(), 1u);
    Crash(dir, copy);
  }
  auto s = Store::Open(Opts(copy));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(RowsOnce(s->get()), 240u);
  EXPECT_EQ((*s)->Stats().segments, 1u);
}

// The catalog lost right after a merge wrote its output but before the
// commit: the rebuild adopts one of the two copies (the segment) and drops
// the flush files it was merged from.
TEST(Damage, ALostCatalogAfterAnUncommittedMergeStoresEachRowOnce) {
  const std::string dir = TempDir();
  const std::string copy = TempDir();
  {
    auto s = Store::Open(Opts(dir));
    ASSERT_TRUE(s.ok());
    for (int f = 0; f < 4; f++) PushAndFlush(s->get(), f);
    (*s)->TEST_SetMergeHook([&](int step) {
      if (step == 4) Crash(dir, copy);
      return step == 4 ? Status::IOError("injected crash") : Status::OK();
    });
    EXPECT_FALSE((*s)->CompactNow().ok());
  }
  ASSERT_EQ(std::system(("rm " + copy + "/catalog.sqlite*").c_str()), 0);
  auto s = Store::Open(Opts(copy));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(RowsOnce(s->get()), 240u);
}

}  // namespace
}  // namespace loge::store
