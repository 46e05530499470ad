#include "storage/zstd_vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <future>
#include <random>
#include <thread>

#include "io/file_system.h"
#include "storage/frame_cache.h"
#include "storage/seekable_zstd.h"

namespace loge::storage {
namespace {

constexpr int kRows = 20000;

// Deterministic row contents, so any thread can check any row.
std::string Payload(int64_t id) {
  uint64_t x = static_cast<uint64_t>(id) * 0x9E3779B97F4A7C15ull;
  std::string s = "user=" + std::to_string(id % 977) + " path=/api/v1/items/";
  while (s.size() < 160) {
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    s.push_back(static_cast<char>('a' + x % 26));
  }
  return s;
}

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
  sqlite3_free(err);
}

// First column of the first row as text ("" when there is no row); errors
// are reported as "error: ..." so threads can compare without ASSERTs.
std::string Query(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    return std::string("error: ") + sqlite3_errmsg(db);
  }
  std::string out;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(st, 0);
    out = t ? reinterpret_cast<const char*>(t) : "NULL";
  } else if (rc != SQLITE_DONE) {
    out = std::string("error: ") + sqlite3_errmsg(db);
  }
  sqlite3_finalize(st);
  return out;
}

// Builds the test database in memory and returns its file image.
std::string BuildDbImage() {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  Exec(db, "PRAGMA page_size=4096");
  Exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload TEXT NOT NULL)");
  Exec(db, "BEGIN");
  sqlite3_stmt* ins = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?,?,?)", -1, &ins, nullptr), SQLITE_OK);
  for (int id = 1; id <= kRows; ++id) {
    std::string name = "name-" + std::to_string(id);
    std::string payload = Payload(id);
    sqlite3_bind_int64(ins, 1, id);
    sqlite3_bind_text(ins, 2, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 3, payload.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(ins), SQLITE_DONE);
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  Exec(db, "CREATE INDEX t_name ON t(name)");
  Exec(db, "COMMIT");
  sqlite3_int64 size = 0;
  unsigned char* bytes = sqlite3_serialize(db, "main", &size, 0);
  std::string image(reinterpret_cast<const char*>(bytes), size);
  sqlite3_free(bytes);
  sqlite3_close(db);
  return image;
}

std::string MakeTempDir(const std::string& name) {
  std::string tmpl = ::testing::TempDir() + name + "_XXXXXX";
  EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

std::string WriteCompressed(const std::string& path, const std::string& image, size_t frame_size) {
  std::string file;
  EXPECT_TRUE(CompressSeekable(image, {.frame_size = frame_size}, &file).ok());
  EXPECT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), path, file).ok());
  return path;
}

size_t FrameCountOf(const std::string& path) {
  auto f = io::DefaultFileSystem()->OpenRandomAccess(path);
  EXPECT_TRUE(f.ok());
  auto r = SeekableReader::Open(std::move(f).value());
  EXPECT_TRUE(r.ok());
  return r.ok() ? (*r)->FrameCount() : 0;
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

DbPtr MustOpen(const std::string& path) {
  sqlite3* db = nullptr;
  Status s = OpenCompressedDb(path, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return DbPtr(db);
}

// Restores the default cache capacity when a test shrinks it.
struct CacheCapacityGuard {
  ~CacheCapacityGuard() { SetFrameCacheCapacity(64 << 20); }
};

class ZstdVfs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    image_ = new std::string(BuildDbImage());
    dir_ = new std::string(MakeTempDir("zstd_vfs"));
    path_ = new std::string(WriteCompressed(io::JoinPath(*dir_, "seg.sqlite.zst"), *image_,
                                            kDefaultFrameSize));
  }
  static void TearDownTestSuite() {
    delete image_;
    delete dir_;
    delete path_;
  }
  static std::string* image_;
  static std::string* dir_;
  static std::string* path_;
};
std::string* ZstdVfs::image_ = nullptr;
std::string* ZstdVfs::dir_ = nullptr;
std::string* ZstdVfs::path_ = nullptr;

TEST_F(ZstdVfs, TestDatabaseIsMultiMegabyteRollbackJournalFile) {
  ASSERT_GT(image_->size(), 2u << 20);
  EXPECT_EQ((*image_)[18], 1) << "WAL-mode header";
  EXPECT_EQ((*image_)[19], 1);
  EXPECT_EQ(static_cast<uint8_t>((*image_)[16]) << 8 | static_cast<uint8_t>((*image_)[17]), 4096);
}

TEST_F(ZstdVfs, AnswersQueriesLikeTheUncompressedDb) {
  DbPtr db = MustOpen(*path_);
  ASSERT_TRUE(db);
  EXPECT_EQ(Query(db.get(), "SELECT count(*) FROM t"), std::to_string(kRows));
  EXPECT_EQ(Query(db.get(), "SELECT sum(id) FROM t"),
            std::to_string(int64_t{kRows} * (kRows + 1) / 2));
  EXPECT_EQ(Query(db.get(), "SELECT payload FROM t WHERE id=12345"), Payload(12345));
  EXPECT_EQ(Query(db.get(), "SELECT id FROM t WHERE name='name-777'"), "777");
  EXPECT_EQ(Query(db.get(), "SELECT count(*) FROM t WHERE payload LIKE 'user=5 %'"),
            Query(db.get(), "SELECT count(*) FROM t WHERE id % 977 = 5"));
  EXPECT_EQ(Query(db.get(), "PRAGMA integrity_check"), "ok");
}

TEST_F(ZstdVfs, LargeSortRunsWithoutTempFiles) {
  DbPtr db = MustOpen(*path_);
  ASSERT_TRUE(db);
  // A tiny page cache makes the sorter spill; with temp_store=MEMORY the
  // spill stays in memory instead of asking the VFS for a temp file.
  Exec(db.get(), "PRAGMA cache_size=10");
  EXPECT_EQ(Query(db.get(), "SELECT count(*) FROM (SELECT payload FROM t ORDER BY payload DESC)"),
            std::to_string(kRows));
}

TEST_F(ZstdVfs, PointLookupDecompressesFewFrames) {
  const size_t frames = FrameCountOf(*path_);
  ASSERT_GT(frames, 30u);
  TEST_ClearFrameCache();
  const VfsStats before = GetVfsStats();
  DbPtr db = MustOpen(*path_);
  ASSERT_TRUE(db);
  EXPECT_EQ(Query(db.get(), "SELECT payload FROM t WHERE id=15001"), Payload(15001));
  const VfsStats after = GetVfsStats();
  const uint64_t decoded = after.frames_decompressed - before.frames_decompressed;
  EXPECT_GE(decoded, 1u);
  EXPECT_LT(decoded * 10, frames) << decoded << " of " << frames << " frames decoded";
  EXPECT_LT(after.bytes_read - before.bytes_read, image_->size() / 10);
}

TEST_F(ZstdVfs, RepeatedLookupsAreServedByTheFrameCache) {
  DbPtr db = MustOpen(*path_);
  ASSERT_TRUE(db);
  EXPECT_EQ(Query(db.get(), "SELECT payload FROM t WHERE id=42"), Payload(42));
  // A second connection has a cold SQLite page cache but shares the frames.
  DbPtr db2 = MustOpen(*path_);
  ASSERT_TRUE(db2);
  const VfsStats before = GetVfsStats();
  EXPECT_EQ(Query(db2.get(), "SELECT payload FROM t WHERE id=42"), Payload(42));
  const VfsStats after = GetVfsStats();
  EXPECT_EQ(after.frames_decompressed, before.frames_decompressed);
  EXPECT_GT(after.cache_hits, before.cache_hits);
}

TEST_F(ZstdVfs, ConcurrentReadersFromFourThreadsSeeSameRows) {
  CacheCapacityGuard restore;
  SetFrameCacheCapacity(8 * kDefaultFrameSize);  // force evictions and reloads
  TEST_ClearFrameCache();
  std::atomic<int> bad{0};
  auto reader = [&](uint32_t seed) {
    sqlite3* raw = nullptr;
    if (!OpenCompressedDb(*path_, &raw).ok()) {
      ++bad;
      return;
    }
    DbPtr db(raw);
    std::mt19937 rng(seed);
    for (int k = 0; k < 400; ++k) {
      int id = static_cast<int>(rng() % kRows) + 1;
      if (Query(db.get(), "SELECT payload FROM t WHERE id=" + std::to_string(id)) != Payload(id)) {
        ++bad;
      }
    }
    if (Query(db.get(), "SELECT count(*) FROM t") != std::to_string(kRows)) ++bad;
  };
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < 4; ++t) threads.emplace_back(reader, t + 1);
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(ZstdVfs, PagesSpanningFramesReadCorrectly) {
  // 1000-byte frames: every 4096-byte page and the 100-byte header read
  // straddle frame boundaries.
  std::string path = WriteCompressed(io::JoinPath(*dir_, "small-frames.zst"), *image_, 1000);
  DbPtr db = MustOpen(path);
  ASSERT_TRUE(db);
  EXPECT_EQ(Query(db.get(), "SELECT count(*) FROM t"), std::to_string(kRows));
  EXPECT_EQ(Query(db.get(), "SELECT payload FROM t WHERE id=9999"), Payload(9999));
  EXPECT_EQ(Query(db.get(), "SELECT id FROM t WHERE name='name-31'"), "31");
}

TEST_F(ZstdVfs, PathWithUriSpecialCharactersOpens) {
  std::string dir = io::JoinPath(*dir_, "we?ird#di%r");
  ASSERT_TRUE(io::DefaultFileSystem()->CreateDirs(dir).ok());
  std::string path = WriteCompressed(io::JoinPath(dir, "a b?.zst"), *image_, kDefaultFrameSize);
  DbPtr db = MustOpen(path);
  ASSERT_TRUE(db);
  EXPECT_EQ(Query(db.get(), "SELECT count(*) FROM t"), std::to_string(kRows));
}

TEST_F(ZstdVfs, MissingFileIsNotFound) {
  sqlite3* db = nullptr;
  Status s = OpenCompressedDb(io::JoinPath(*dir_, "nope.zst"), &db);
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_EQ(db, nullptr);
}

TEST_F(ZstdVfs, NonSeekableFileIsCorruption) {
  std::string path = io::JoinPath(*dir_, "plain.db");
  ASSERT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), path, *image_).ok());
  sqlite3* db = nullptr;
  Status s = OpenCompressedDb(path, &db);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find("not a seekable file"), std::string::npos) << s.ToString();
  EXPECT_EQ(db, nullptr);
}

TEST_F(ZstdVfs, SeekableFileThatIsNotSqliteIsCorruption) {
  std::string path = io::JoinPath(*dir_, "text.zst");
  std::string text(100000, 'x');
  WriteCompressed(path, text, kDefaultFrameSize);
  sqlite3* db = nullptr;
  Status s = OpenCompressedDb(path, &db);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_EQ(db, nullptr);
}

TEST_F(ZstdVfs, CorruptFrameFailsQueryInsteadOfReturningBadRows) {
  std::string file;
  ASSERT_TRUE(CompressSeekable(*image_, {}, &file).ok());
  // Flip a byte in the middle of the data frames (not frame 0: the schema).
  const size_t table = 8 + FrameCountOf(*path_) * 12 + 9;
  file[(file.size() - table) * 3 / 4] ^= 0x20;
  std::string path = io::JoinPath(*dir_, "damaged.zst");
  ASSERT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), path, file).ok());
  DbPtr db = MustOpen(path);
  ASSERT_TRUE(db);
  std::string got = Query(db.get(), "SELECT sum(length(payload)) FROM t");
  EXPECT_EQ(got.rfind("error: ", 0), 0u) << got;
}

TEST_F(ZstdVfs, ZstdCliDecompressedFileOpensInSqliteShell) {
  std::string out = io::JoinPath(*dir_, "plain-from-cli.db");
  std::string cmd = "zstd -q -f -d '" + *path_ + "' -o '" + out + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::string query = "sqlite3 '" + out + "' 'select count(*) from t'";
  FILE* p = ::popen(query.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string result;
  char buf[256];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) result.append(buf, n);
  EXPECT_EQ(::pclose(p), 0);
  EXPECT_EQ(result, std::to_string(kRows) + "\n");
}

// Drives the VFS methods directly to check the contract SQLite relies on.
class RawFile {
 public:
  RawFile(const std::string& name, int flags) : vfs_(sqlite3_vfs_find(kZstdVfsName)) {
    mem_.resize(vfs_->szOsFile / sizeof(std::max_align_t) + 1);
    rc_ = vfs_->xOpen(vfs_, name.c_str(), file(), flags, &out_flags_);
  }
  ~RawFile() {
    if (file()->pMethods != nullptr) file()->pMethods->xClose(file());
  }
  sqlite3_file* file() { return reinterpret_cast<sqlite3_file*>(mem_.data()); }
  sqlite3_vfs* vfs() { return vfs_; }
  int rc() const { return rc_; }
  int out_flags() const { return out_flags_; }

 private:
  sqlite3_vfs* vfs_;
  std::vector<std::max_align_t> mem_;
  int rc_ = 0;
  int out_flags_ = 0;
};

TEST_F(ZstdVfs, RawReadsZeroFillPastEofAndReportShortRead) {
  ASSERT_TRUE(RegisterZstdVfs().ok());
  RawFile f(*path_, SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_READONLY);
  ASSERT_EQ(f.rc(), SQLITE_OK);
  EXPECT_EQ(f.out_flags(), SQLITE_OPEN_READONLY);
  const sqlite3_io_methods* m = f.file()->pMethods;
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->iVersion, 1);

  sqlite3_int64 size = 0;
  ASSERT_EQ(m->xFileSize(f.file(), &size), SQLITE_OK);
  EXPECT_EQ(static_cast<size_t>(size), image_->size());
  EXPECT_EQ(m->xDeviceCharacteristics(f.file()), SQLITE_IOCAP_IMMUTABLE);
  int dummy = 0;
  EXPECT_EQ(m->xFileControl(f.file(), SQLITE_FCNTL_PDB, &dummy), SQLITE_NOTFOUND);

  auto check = [&](int64_t off, int amt) {
    SCOPED_TRACE("read " + std::to_string(amt) + " at " + std::to_string(off));
    std::string buf(amt, '\x55');
    int rc = m->xRead(f.file(), buf.data(), amt, off);
    const int64_t have = std::clamp<int64_t>(size - off, 0, amt);
    std::string want = image_->substr(std::min<int64_t>(off, size), have) +
                       std::string(amt - have, '\0');
    EXPECT_EQ(rc, have == amt ? SQLITE_OK : SQLITE_IOERR_SHORT_READ);
    EXPECT_TRUE(buf == want);
  };
  check(0, 100);
  check(4096, 4096);
  check(65536 - 10, 20);             // crosses a frame boundary
  check(65536 * 2 - 5, 65536 * 2);   // spans three frames
  check(size - 4096, 4096);          // last page
  check(size - 100, 4096);           // runs past EOF
  check(size + 8192, 4096);          // wholly past EOF
}

TEST_F(ZstdVfs, RefusesEverythingButTheMainDb) {
  ASSERT_TRUE(RegisterZstdVfs().ok());
  for (int flags : {SQLITE_OPEN_MAIN_JOURNAL, SQLITE_OPEN_WAL, SQLITE_OPEN_TEMP_JOURNAL,
                    SQLITE_OPEN_TEMP_DB}) {
    SCOPED_TRACE(flags);
    RawFile f(*path_ + "-journal", flags | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    EXPECT_EQ(f.rc(), SQLITE_CANTOPEN);
    EXPECT_EQ(f.file()->pMethods, nullptr);
  }
  RawFile missing(*dir_ + "/missing", SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_READONLY);
  EXPECT_EQ(missing.rc(), SQLITE_CANTOPEN);
  EXPECT_EQ(missing.file()->pMethods, nullptr);
  int exists = 1;
  EXPECT_EQ(missing.vfs()->xAccess(missing.vfs(), (*path_ + "-wal").c_str(), SQLITE_ACCESS_EXISTS,
                                   &exists),
            SQLITE_OK);
  EXPECT_EQ(exists, 0);
}

TEST(ZstdVfsRegistration, RegisteringTwiceIsHarmless) {
  ASSERT_TRUE(RegisterZstdVfs().ok());
  ASSERT_TRUE(RegisterZstdVfs().ok());
  sqlite3_vfs* vfs = sqlite3_vfs_find(kZstdVfsName);
  ASSERT_NE(vfs, nullptr);
  EXPECT_EQ(vfs->iVersion, 2);
  EXPECT_NE(sqlite3_vfs_find(nullptr), vfs) << "must not become the default VFS";
  sqlite3_int64 now = 0;
  EXPECT_EQ(vfs->xCurrentTimeInt64(vfs, &now), SQLITE_OK);
  EXPECT_GT(now, 0);
}

// ---- FrameCache --------------------------------------------------------------

FrameCache::Loader Fill(char c, size_t n, std::atomic<int>* calls = nullptr) {
  return [=](std::string* out) {
    if (calls != nullptr) ++*calls;
    out->assign(n, c);
    return Status::OK();
  };
}

TEST(FrameCache, SecondGetIsAHit) {
  FrameCache cache(1 << 20);
  std::atomic<int> calls{0};
  bool hit = true;
  auto a = cache.Get({"f", 0}, Fill('a', 100, &calls), &hit);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(hit);
  auto b = cache.Get({"f", 0}, Fill('z', 100, &calls), &hit);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(hit);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(**b, std::string(100, 'a'));
  EXPECT_EQ(cache.Usage(), 100u);
  // Same frame index, other file: a different key.
  auto c = cache.Get({"g", 0}, Fill('c', 100, &calls), &hit);
  EXPECT_FALSE(hit);
  EXPECT_EQ(**c, std::string(100, 'c'));
}

TEST(FrameCache, EvictsLeastRecentlyUsedByBytes) {
  FrameCache cache(300);
  bool hit = false;
  for (uint64_t i = 0; i < 3; ++i) ASSERT_TRUE(cache.Get({"f", i}, Fill('x', 100)).ok());
  ASSERT_TRUE(cache.Get({"f", 0}, Fill('x', 100), &hit).ok());  // 0 is now the newest
  EXPECT_TRUE(hit);
  ASSERT_TRUE(cache.Get({"f", 3}, Fill('x', 100)).ok());        // evicts 1
  EXPECT_EQ(cache.Usage(), 300u);
  ASSERT_TRUE(cache.Get({"f", 0}, Fill('x', 100), &hit).ok());
  EXPECT_TRUE(hit);
  ASSERT_TRUE(cache.Get({"f", 1}, Fill('x', 100), &hit).ok());
  EXPECT_FALSE(hit);
}

TEST(FrameCache, ShrinkingCapacityEvictsAndOversizedFramesAreNotKept) {
  FrameCache cache(1000);
  for (uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(cache.Get({"f", i}, Fill('x', 100)).ok());
  EXPECT_EQ(cache.Usage(), 1000u);
  cache.SetCapacity(250);
  EXPECT_EQ(cache.Usage(), 200u);
  auto big = cache.Get({"f", 99}, Fill('b', 500));
  ASSERT_TRUE(big.ok());
  EXPECT_EQ((*big)->size(), 500u);  // returned, but not cached
  EXPECT_EQ(cache.Usage(), 200u);
  cache.Clear();
  EXPECT_EQ(cache.Usage(), 0u);
}

TEST(FrameCache, EvictedFrameStaysValidForItsHolder) {
  FrameCache cache(100);
  auto a = cache.Get({"f", 0}, Fill('a', 100));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(cache.Get({"f", 1}, Fill('b', 100)).ok());  // evicts 0
  EXPECT_EQ(**a, std::string(100, 'a'));
}

TEST(FrameCache, LoadErrorReachesCallerAndIsNotCached) {
  FrameCache cache(1000);
  auto bad = cache.Get({"f", 0}, [](std::string*) { return Status::Corruption("boom"); });
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kCorruption);
  EXPECT_EQ(cache.Usage(), 0u);
  auto good = cache.Get({"f", 0}, Fill('a', 10));
  ASSERT_TRUE(good.ok());
}

// Polls cond until it holds or 10 s pass.
bool WaitFor(const std::function<bool()>& cond) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST(FrameCache, ConcurrentGetsOfOneFrameLoadItOnce) {
  FrameCache cache(1 << 20);
  std::atomic<int> calls{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto slow = [&](std::string* out) {
    ++calls;
    released.wait();
    out->assign(1000, 's');
    return Status::OK();
  };
  std::vector<std::future<Result<FrameCache::Frame>>> results;
  results.push_back(std::async(std::launch::async, [&] { return cache.Get({"f", 7}, slow); }));
  ASSERT_TRUE(WaitFor([&] { return calls.load() == 1; }));
  for (int i = 0; i < 3; ++i) {
    results.push_back(std::async(std::launch::async, [&] { return cache.Get({"f", 7}, slow); }));
  }
  ASSERT_TRUE(WaitFor([&] { return cache.TEST_Waiters() == 3; }));
  release.set_value();
  const std::string* first = nullptr;
  for (auto& f : results) {
    auto r = f.get();
    ASSERT_TRUE(r.ok());
    if (first == nullptr) first = r->get();
    EXPECT_EQ(r->get(), first) << "every caller gets the one decoded copy";
  }
  EXPECT_EQ(calls.load(), 1);
}

TEST(FrameCache, WaitersReceiveTheLoadersError) {
  FrameCache cache(1 << 20);
  std::atomic<int> calls{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto failing = [&](std::string*) {
    ++calls;
    released.wait();
    return Status::IOError("disk gone");
  };
  auto first = std::async(std::launch::async, [&] { return cache.Get({"f", 1}, failing); });
  ASSERT_TRUE(WaitFor([&] { return calls.load() == 1; }));
  auto second = std::async(std::launch::async, [&] { return cache.Get({"f", 1}, failing); });
  ASSERT_TRUE(WaitFor([&] { return cache.TEST_Waiters() == 1; }));
  release.set_value();
  EXPECT_EQ(first.get().status().code(), Code::kIOError);
  EXPECT_EQ(second.get().status().code(), Code::kIOError);
  EXPECT_EQ(calls.load(), 1);
}

}  // namespace
}  // namespace loge::storage
