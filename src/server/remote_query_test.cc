// Queries over remote segments: the engine reading through the zstd VFS and
// tier's HTTP range files from a real MinIO (docs/s3.md "Remote reads").
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>

#include "server/remote_test_util.h"
#include "storage/segment_reader.h"
#include "storage/zstd_vfs.h"
#include "tier/remote_reads.h"

namespace loge::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testutil::FixedSource;
using testutil::Segment;

query::Query AppQuery(int app, size_t limit = query::kMaxLimit) {
  query::Query q;
  q.matchers.push_back(*query::LabelMatcher::Make("app", "app" + std::to_string(app), query::MatchType::kEq));
  q.limit = limit;
  return q;
}

std::vector<query::Hit> RunOver(query::FileRef f, const query::Query& q, query::QueryResult* out = nullptr) {
  FixedSource src;
  src.files = {std::move(f)};
  query::Engine engine({.concurrency = 2}, &src);
  auto res = engine.Run(q);
  EXPECT_TRUE(res.ok()) << res.status().ToString();
  if (!res.ok()) return {};
  if (out != nullptr) *out = *res;
  return res->hits;
}

void ExpectSameHits(const std::vector<query::Hit>& a, const std::vector<query::Hit>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); i++) {
    SCOPED_TRACE(i);
    EXPECT_EQ(a[i].ts, b[i].ts);
    EXPECT_EQ(a[i].line, b[i].line);
    EXPECT_EQ(a[i].labels_json, b[i].labels_json);
  }
}

tier::RemoteReadOptions FastFailOptions() {
  tier::RemoteReadOptions o;
  o.connect_timeout = milliseconds(1000);
  o.request_timeout = milliseconds(2000);
  o.low_speed_time = seconds(1);
  return o;
}

class RemoteQueryMinio : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // 16 streams x 4000 lines of ~120 random bytes: ~7.7 MB of text, dozens of frames.
    cold_.Start("remote-query", kKey, 16, 4000);
  }
  static void TearDownTestSuite() { cold_.Stop(); }

  void SetUp() override {
    if (cold_.binary.empty()) GTEST_SKIP() << "MinIO is not installed: run scripts/minio.sh install";
    ASSERT_TRUE(cold_.start.ok()) << cold_.start.ToString();
    ASSERT_TRUE(tier::EnableRemoteReads({}).ok());
    storage::TEST_ClearRemoteCache();
  }

  static std::string Url() { return cold_.store->PublicUrl(kKey); }

  static constexpr const char* kKey = "seg/segment-1.sqlite.zst";
  static inline testutil::ColdBucket cold_;
};

TEST_F(RemoteQueryMinio, RemoteSegmentAnswersLikeTheLocalFile) {
  ASSERT_GT(cold_.segment->entry.bytes, 2u << 20) << "the test segment should span many frames";
  auto local = testutil::LocalHandle(*cold_.segment, 1);
  auto remote = testutil::RemoteHandle(*cold_.segment, 1, Url());
  query::Query all;
  all.limit = query::kMaxLimit;
  query::QueryResult res;
  auto want = RunOver(local, all);
  ASSERT_EQ(want.size(), query::kMaxLimit);
  ExpectSameHits(RunOver(remote, all, &res), want);
  EXPECT_FALSE(res.partial);
  EXPECT_EQ(res.stats.remote_files_opened, 1u);
  EXPECT_GT(res.stats.remote_requests, 0u);

  query::Query needle = AppQuery(7);
  needle.line_filters.push_back(*query::LineFilter::Make(query::LineFilterType::kContains, "req=123 "));
  auto got = RunOver(remote, needle);
  ASSERT_EQ(got.size(), 1u);
  ExpectSameHits(got, RunOver(local, needle));
}

TEST_F(RemoteQueryMinio, SelectiveQueryFetchesASmallFractionOfTheSegment) {
  auto remote = testutil::RemoteHandle(*cold_.segment, 1, Url());
  // One stream, a window of 50 of its 4000 lines.
  query::Query q = AppQuery(3);
  q.start = testutil::kBaseTs + 2000 * 1000;
  q.end = q.start + 50 * 1000;
  auto before = tier::GetRemoteReadStats();
  query::QueryResult res;
  auto hits = RunOver(remote, q, &res);
  auto after = tier::GetRemoteReadStats();
  ASSERT_EQ(hits.size(), 50u);
  ExpectSameHits(hits, RunOver(testutil::LocalHandle(*cold_.segment, 1), q));
  const uint64_t fetched = after.bytes - before.bytes;
  std::printf("selective query: %llu requests, %llu of %llu bytes (%.1f%%)\n",
              static_cast<unsigned long long>(after.requests - before.requests),
              static_cast<unsigned long long>(fetched), static_cast<unsigned long long>(cold_.segment->entry.bytes),
              100.0 * static_cast<double>(fetched) / static_cast<double>(cold_.segment->entry.bytes));
  EXPECT_LT(fetched, cold_.segment->entry.bytes / 4);
  EXPECT_EQ(res.stats.remote_bytes, fetched);
  EXPECT_EQ(res.stats.remote_requests, after.requests - before.requests);

  // A repeated query is served from the caches: no request at all.
  before = tier::GetRemoteReadStats();
  ExpectSameHits(RunOver(remote, q), hits);
  EXPECT_EQ(tier::GetRemoteReadStats().requests, before.requests);
}

// Issue 17's promise for ids: on access-log lines that each carry a 32-hex
// request id (so no trigram of an id is rare), a query for one line's id
// reads what an indexed query needs and no more: the group filters' id keys
// leave one block, and the client fetches that block's frame plus the file's
// fixed cost (seek table, header, index and block rows) -- at most 5% of a
// segment written as merges write them (1 MiB text frames, 2048-line groups).
// The fixed cost is ~230 KB whatever the segment, so the share falls as
// segments grow.
TEST_F(RemoteQueryMinio, IdNeedleFetchesAtMostFivePercentOfTheSegment) {
  std::mt19937_64 rng(17);
  auto hex = [&](int n) {
    std::string s;
    for (int i = 0; i < n; i++) s.push_back("0123456789abcdef"[rng() & 15]);
    return s;
  };
  static const char* kPaths[] = {"/api/v1/items", "/api/v1/users", "/login", "/static/app.js", "/health"};
  storage::SegmentWriterOptions wo;
  wo.group_lines = 2048;
  storage::SegmentWriter w(wo);
  std::string wanted;
  constexpr int kStreams = 8, kLines = 40000;  // 12.6 MB: a small segment still (final ones are ~10x)
  for (int s = 0; s < kStreams; s++) {
    std::vector<Entry> es;
    for (int i = 0; i < kLines; i++) {
      std::string line = "10.0." + std::to_string(s) + "." + std::to_string(rng() % 250) + " - - \"GET " +
                         kPaths[rng() % 5] + "?page=" + std::to_string(rng() % 100) + " HTTP/1.1\" " +
                         (rng() % 10 == 0 ? "404 " : "200 ") + std::to_string(rng() % 20000) +
                         " \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\" rt=0.0" + std::to_string(rng() % 90 + 10) +
                         " request_id=" + hex(32);
      if (s == 5 && i == 12345) wanted = line;
      es.push_back(Entry{testutil::kBaseTs + int64_t{i} * 1000 + s, std::move(line), ""});
    }
    ASSERT_TRUE(w.AddStream({{"app", "web"}, {"host", "web-" + std::to_string(s)}}, es).ok());
  }
  const std::string path = io::JoinPath(cold_.dir, "ids.sqlite.zst");
  storage::SegmentInfo info;
  ASSERT_TRUE(w.WriteFile(io::DefaultFileSystem(), path, 1, &info).ok());
  ASSERT_TRUE(cold_.store->PutFile("seg/ids.sqlite.zst", path).ok());
  testutil::Segment seg{path, storage::EntryFor(storage::FileKind::kSegment, "ids.sqlite.zst", info, info.bytes)};
  const std::string id = wanted.substr(wanted.size() - 32);

  for (const std::string& needle : {id, id.substr(8, 16), "request_id=" + id}) {
    SCOPED_TRACE(needle);
    query::Query q;
    q.limit = 100;
    q.line_filters.push_back(*query::LineFilter::Make(query::LineFilterType::kContains, needle));
    query::QueryResult local_res;
    auto local = RunOver(testutil::LocalHandle(seg, 2), q, &local_res);
    ASSERT_EQ(local.size(), 1u);
    EXPECT_EQ(local[0].line, wanted);
    EXPECT_EQ(local_res.stats.blocks_scanned, 1u);

    storage::TEST_ClearRemoteCache();
    auto before = tier::GetRemoteReadStats();
    query::QueryResult res;
    ExpectSameHits(RunOver(testutil::RemoteHandle(seg, 2, cold_.store->PublicUrl("seg/ids.sqlite.zst")), q, &res),
                   local);
    const auto after = tier::GetRemoteReadStats();
    const uint64_t fetched = after.bytes - before.bytes;
    EXPECT_EQ(res.stats.blocks_scanned, 1u);
    std::printf("id needle of %zu bytes: %llu requests, %llu of %llu bytes (%.1f%%)\n", needle.size(),
                static_cast<unsigned long long>(after.requests - before.requests),
                static_cast<unsigned long long>(fetched), static_cast<unsigned long long>(info.bytes),
                100.0 * static_cast<double>(fetched) / static_cast<double>(info.bytes));
    EXPECT_LE(fetched, info.bytes / 20);
  }
}

TEST_F(RemoteQueryMinio, SeekTableIsFetchedOncePerFile) {
  // No frames cached: every open reads the header frame again, but the seek
  // table (one tail request) only the first time.
  tier::RemoteReadOptions o;
  o.frame_cache_frames = 0;
  ASSERT_TRUE(tier::EnableRemoteReads(o).ok());
  auto open = [&] {
    auto before = tier::GetRemoteReadStats().requests;
    auto r = storage::SegmentReader::Open(Url());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return tier::GetRemoteReadStats().requests - before;
  };
  const uint64_t first = open();
  const uint64_t second = open();
  const uint64_t third = open();
  EXPECT_GE(first, 2u);
  EXPECT_EQ(second, first - 1);
  EXPECT_EQ(third, second);
  // A presigned URL of the same object shares the cached table.
  auto presigned = cold_.store->PresignGet(kKey, seconds(60));
  ASSERT_TRUE(presigned.ok());
  auto before = tier::GetRemoteReadStats().requests;
  ASSERT_TRUE(storage::SegmentReader::Open(*presigned).ok());
  EXPECT_EQ(tier::GetRemoteReadStats().requests - before, second);
}

TEST_F(RemoteQueryMinio, FrameCacheStaysWithinItsLimits) {
  auto remote = testutil::RemoteHandle(*cold_.segment, 1, Url());
  query::Query all;
  all.limit = query::kMaxLimit;
  tier::RemoteReadOptions o;
  o.frame_cache_frames = 3;
  ASSERT_TRUE(tier::EnableRemoteReads(o).ok());
  ASSERT_EQ(RunOver(remote, all).size(), query::kMaxLimit);
  EXPECT_LE(storage::RemoteFramesCached(Url()), 3u);
  EXPECT_GT(storage::RemoteFramesCached(Url()), 0u);

  o.frame_cache_frames = 512;
  o.frame_cache_bytes = 600 * 1024;  // two 256 KiB frames
  ASSERT_TRUE(tier::EnableRemoteReads(o).ok());
  ASSERT_EQ(RunOver(remote, all).size(), query::kMaxLimit);
  EXPECT_LE(storage::GetRemoteCacheStats().bytes, 600u * 1024);
  EXPECT_EQ(storage::RemoteFramesCached(Url()), 2u);
}

TEST_F(RemoteQueryMinio, PrivateBucketIsReadWithPresignedUrlsOnly) {
  auto priv = testutil::OpenBucket(*cold_.minio, "private", /*public_read=*/false);
  ASSERT_TRUE(priv.ok()) << priv.status().ToString();
  ASSERT_TRUE((*priv)->PutFile(kKey, cold_.segment->path).ok());
  auto local = testutil::LocalHandle(*cold_.segment, 1);
  query::Query q = AppQuery(5, 20);

  query::QueryResult res;
  auto hits = RunOver(testutil::RemoteHandle(*cold_.segment, 1, (*priv)->PublicUrl(kKey)), q, &res);
  EXPECT_TRUE(hits.empty());
  EXPECT_TRUE(res.partial);
  ASSERT_EQ(res.warnings.size(), 1u);
  EXPECT_NE(res.warnings[0].find((*priv)->PublicUrl(kKey)), std::string::npos) << res.warnings[0];
  EXPECT_NE(res.warnings[0].find("403"), std::string::npos) << res.warnings[0];

  auto url = (*priv)->PresignGet(kKey, seconds(60));
  ASSERT_TRUE(url.ok());
  ExpectSameHits(RunOver(testutil::RemoteHandle(*cold_.segment, 1, *url), q, &res), RunOver(local, q));
  EXPECT_FALSE(res.partial);
  for (const auto& w : res.warnings) EXPECT_EQ(w.find("X-Amz-Signature"), std::string::npos);
}

TEST_F(RemoteQueryMinio, MissingObjectIsSkippedWithAWarning) {
  ASSERT_TRUE(cold_.store->PutFile("seg/gone.sqlite.zst", cold_.segment->path).ok());
  const std::string gone = cold_.store->PublicUrl("seg/gone.sqlite.zst");
  ASSERT_TRUE(cold_.store->DeleteObject("seg/gone.sqlite.zst").ok());

  FixedSource src;
  Segment other = *cold_.segment;
  src.files = {testutil::RemoteHandle(other, 1, gone), testutil::LocalHandle(*cold_.segment, 2)};
  query::Engine engine({.concurrency = 2}, &src);
  query::Query q = AppQuery(2, 10);
  auto res = engine.Run(q);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->hits.size(), 10u);
  EXPECT_TRUE(res->partial);
  ASSERT_EQ(res->warnings.size(), 1u);
  EXPECT_NE(res->warnings[0].find(gone), std::string::npos);
  EXPECT_NE(res->warnings[0].find("404"), std::string::npos) << res->warnings[0];
}

// The object store goes away after the segment was read once: the seek table
// is cached, frames are not, so the next query's reads fail mid-open.
TEST_F(RemoteQueryMinio, StoppedStoreGivesPartialResultsQuickly) {
  tier::MinioServer own;
  ASSERT_TRUE(own.Start(cold_.binary).ok());
  auto store = testutil::OpenBucket(own, "outage", true);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->PutFile(kKey, cold_.segment->path).ok());
  const std::string url = (*store)->PublicUrl(kKey);
  tier::RemoteReadOptions o = FastFailOptions();
  o.frame_cache_frames = 0;
  ASSERT_TRUE(tier::EnableRemoteReads(o).ok());

  // Local file: app 1's rows; remote file: a copy, newer (as cold data would not be; it
  // does not matter), so the engine must read it.
  Segment remote_seg = *cold_.segment;
  remote_seg.entry.min_ts += 1'000'000'000'000;
  remote_seg.entry.max_ts += 1'000'000'000'000;
  FixedSource src;
  src.files = {testutil::LocalHandle(*cold_.segment, 1), testutil::RemoteHandle(remote_seg, 2, url)};
  query::Engine engine({.concurrency = 4}, &src);
  query::Query q = AppQuery(1, 10);
  auto ok = engine.Run(q);
  ASSERT_TRUE(ok.ok());
  EXPECT_FALSE(ok->partial);

  own.Stop();
  auto t0 = std::chrono::steady_clock::now();
  auto res = engine.Run(q);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_TRUE(res->partial);
  ASSERT_EQ(res->warnings.size(), 1u);
  EXPECT_NE(res->warnings[0].find(url), std::string::npos) << res->warnings[0];
  EXPECT_NE(res->warnings[0].find("Unavailable"), std::string::npos) << res->warnings[0];
  ExpectSameHits(res->hits, RunOver(testutil::LocalHandle(*cold_.segment, 1), q));
  EXPECT_LT(took, seconds(5));
}

// ---- no MinIO needed ----

// Listens and never answers: connections complete in the kernel's backlog.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    LOGE_ASSERT(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0, "bind");
    LOGE_ASSERT(listen(fd_, 64) == 0, "listen");
    LOGE_ASSERT(getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0, "getsockname");
    port_ = ntohs(a.sin_port);
  }
  ~SilentServer() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_;
};

class RemoteOutage : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testutil::TempDir("remote-outage");
    seg_ = testutil::BuildSegment(dir_, "local.sqlite.zst", 2, 300);
    ASSERT_TRUE(tier::EnableRemoteReads(FastFailOptions()).ok());
    storage::TEST_ClearRemoteCache();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // One local file and three remote ones at base_url, all overlapping.
  void ExpectPartialWithin(const std::string& base_url, seconds bound) {
    FixedSource src;
    src.files.push_back(testutil::LocalHandle(seg_, 1));
    for (int i = 0; i < 3; i++) {
      Segment s = seg_;
      s.entry.max_ts += 1000 + i;  // newer than the local file: the engine must open them
      src.files.push_back(testutil::RemoteHandle(s, 2 + i, base_url + "/b/seg-" + std::to_string(i) + ".zst"));
    }
    query::Engine engine({.concurrency = 8}, &src);
    query::Query q;
    q.limit = 50;
    auto t0 = std::chrono::steady_clock::now();
    auto res = engine.Run(q);
    auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_LT(took, bound);
    EXPECT_TRUE(res->partial);
    ASSERT_EQ(res->warnings.size(), 3u);
    for (int i = 0; i < 3; i++) {
      EXPECT_NE(res->warnings[i].find("/b/seg-" + std::to_string(i) + ".zst"), std::string::npos) << res->warnings[i];
    }
    ExpectSameHits(res->hits, RunOver(testutil::LocalHandle(seg_, 1), q));
  }

  std::string dir_;
  Segment seg_;
};

TEST_F(RemoteOutage, RefusedConnectionsGivePartialResultsAtOnce) {
  ExpectPartialWithin("http://127.0.0.1:" + std::to_string(tier::MinioServer::FreePort()), seconds(3));
}

TEST_F(RemoteOutage, SilentServerGivesPartialResultsWithinTheTimeout) {
  SilentServer silent;
  ExpectPartialWithin("http://127.0.0.1:" + std::to_string(silent.port()), seconds(6));
}

TEST_F(RemoteOutage, RemoteReadsNotEnabledIsAWarningNotACrash) {
  storage::SetRemoteFileOpener(nullptr);
  ExpectPartialWithin("http://127.0.0.1:1", seconds(2));
  ASSERT_TRUE(tier::EnableRemoteReads(FastFailOptions()).ok());
}

}  // namespace
}  // namespace loge::server
