// Retention through the store, on a clock the test moves: files past the
// age go, the size bound deletes oldest first, queries never return expired
// rows even before a pass, claimed files are left alone, and a crash at
// every step of a deletion loses nothing kept and brings nothing back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "io/file_system.h"
#include "query/logql.h"
#include "query/metric.h"
#include "storage/catalog.h"
#include "store/retention.h"
#include "store/store.h"
#include "store/test_files.h"

namespace loge::store {
namespace {

constexpr int64_t kHour = 3600LL * 1000000000;
constexpr int64_t kNow = 1000 * kHour;

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/retentionXXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

struct Clock {
  std::shared_ptr<std::atomic<int64_t>> now = std::make_shared<std::atomic<int64_t>>(kNow);
  std::function<int64_t()> fn() const {
    auto n = now;
    return [n] { return n->load(); };
  }
};

StoreOptions Opts(const std::string& dir, const Clock& clock, Duration age, uint64_t bytes = 0) {
  StoreOptions o;
  o.output_path = dir;
  o.flush_interval = std::chrono::hours(1);
  o.checkpoint_interval = std::chrono::hours(1);
  o.merge_interval = Duration(0);  // only when told
  o.retention.max_age = age;
  o.retention.max_local_bytes = bytes;
  o.retention.interval = Duration(0);  // passes only when told
  o.retention.now_ns = clock.fn();
  return o;
}

// One flush file of 100 rows of {app=<app>} ending at `newest`, one row a second.
void PushFile(Store* s, int64_t newest, const std::string& app = "web") {
  Payload p;
  Stream st;
  st.labels = {{"app", app}};
  for (int i = 99; i >= 0; i--) {
    const int64_t ts = newest - static_cast<int64_t>(i) * 1000000000;
    st.entries.push_back({ts, app + " line at " + std::to_string(ts) + " padding padding padding", ""});
  }
  p.streams.push_back(std::move(st));
  ASSERT_TRUE(s->Push(std::move(p)).ok());
  ASSERT_TRUE(s->FlushAll().ok());
}

std::vector<query::Hit> All(Store* s) {
  query::Engine engine(query::EngineOptions{}, s);
  query::Query q;
  q.limit = query::kMaxLimit;
  auto r = engine.Run(q);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->hits : std::vector<query::Hit>{};
}

// Every hit at or after `floor`, each (ts, line) once; returns their count.
size_t ExpectKeptOnce(Store* s, int64_t floor) {
  std::map<std::string, int> seen;
  auto hits = All(s);
  for (const auto& h : hits) {
    EXPECT_GE(h.ts, floor) << h.line;
    EXPECT_EQ(++seen[std::to_string(h.ts) + h.line], 1) << h.line;
  }
  return hits.size();
}

TEST(Retention, QueriesClipBeforeThePassAndThePassDeletesExpiredFiles) {
  Clock clock;
  const std::string dir = TempDir();
  auto s = Store::Open(Opts(dir, clock, std::chrono::hours(24)));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Store* st = s->get();
  PushFile(st, kNow - 30 * kHour);  // expired
  PushFile(st, kNow - 20 * kHour);  // straddles nothing: kept until now + 4h
  PushFile(st, kNow);               // fresh
  ASSERT_TRUE(st->TEST_Checkpoint().ok());
  EXPECT_EQ(st->Stats().files, 3u);
  // Before any pass: the expired file is still there, its rows are not.
  EXPECT_EQ(ExpectKeptOnce(st, kNow - 24 * kHour), 200u);
  // A metric query does not count them either.
  {
    query::Engine engine(query::EngineOptions{}, st);
    auto e = query::ParseExpr("count_over_time({app=\"web\"}[100h])", query::ParseOptions{});
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    query::MetricQuery mq;
    mq.expr = *e;
    mq.start = mq.end = kNow;
    mq.instant = true;
    auto m = engine.RunMetric(mq);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    ASSERT_EQ(m->series.size(), 1u);
    ASSERT_EQ(m->series[0].points.size(), 1u);
    EXPECT_EQ(m->series[0].points[0].second, 200.0);
  }
  ASSERT_TRUE(st->RunRetentionNow().ok());
  auto stats = st->Stats();
  EXPECT_EQ(stats.files, 2u);
  EXPECT_EQ(stats.retention.files_deleted, 1u);
  EXPECT_EQ(stats.retention.rows_deleted, 100u);
  EXPECT_GT(stats.retention.bytes_deleted, 0u);
  EXPECT_EQ(stats.retention_floor, kNow - 24 * kHour);
  // Five hours later the second file is past the age too.
  clock.now->store(kNow + 5 * kHour);
  EXPECT_EQ(ExpectKeptOnce(st, kNow - 19 * kHour), 100u);
  ASSERT_TRUE(st->RunRetentionNow().ok());
  EXPECT_EQ(st->Stats().files, 1u);
  ASSERT_TRUE(st->Close().ok());
  s->reset();
  // Restarted with retention off: nothing deleted comes back.
  auto again = Store::Open(Opts(dir, clock, Duration(0)));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ExpectKeptOnce(again->get(), kNow - 100 * 1000000000LL), 100u);
}

TEST(Retention, ZeroKeepsEverything) {
  Clock clock;
  auto s = Store::Open(Opts(TempDir(), clock, Duration(0)));
  ASSERT_TRUE(s.ok());
  PushFile(s->get(), 1000000000000LL);  // 1970
  PushFile(s->get(), kNow);
  ASSERT_TRUE((*s)->TEST_Checkpoint().ok());
  ASSERT_TRUE((*s)->RunRetentionNow().ok());
  EXPECT_EQ((*s)->Stats().files, 2u);
  EXPECT_EQ(All(s->get()).size(), 200u);
}

TEST(Retention, SizeBoundDeletesOldestFilesFirst) {
  Clock clock;
  const std::string dir = TempDir();
  auto s = Store::Open(Opts(dir, clock, Duration(0)));
  ASSERT_TRUE(s.ok());
  // Pushed out of time order: the bound goes by the files' newest rows.
  for (int64_t h : {3, 1, 4, 2, 5}) PushFile(s->get(), kNow - h * kHour);
  ASSERT_TRUE((*s)->TEST_Checkpoint().ok());
  const uint64_t total = (*s)->Stats().local_bytes;
  ASSERT_TRUE((*s)->Close().ok());
  s->reset();
  // Room for a bit more than two of the five files.
  s = Store::Open(Opts(dir, clock, Duration(0), total * 2 / 5 + total / 20));
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->RunRetentionNow().ok());
  auto stats = (*s)->Stats();
  EXPECT_EQ(stats.files, 2u);
  EXPECT_LE(stats.local_bytes, total * 2 / 5 + total / 20);
  EXPECT_EQ(stats.retention.files_deleted, 3u);
  // The two newest files are the ones left (newest rows at -1h and -2h).
  EXPECT_EQ(ExpectKeptOnce(s->get(), kNow - 2 * kHour - 100 * 1000000000LL), 200u);
}

// A crash at each step of a local deletion (the hook abandons it there and
// the directory is copied as a crash would leave it): after recovery,
// nothing kept is lost, no row is read twice, and once the catalog
// transaction (step 1's successor) committed, the expired rows never come
// back, even with retention off.
TEST(Retention, CrashAtEveryStepOfALocalDeletion) {
  for (int crash_step : {1, 2, 3}) {
    SCOPED_TRACE("crash at step " + std::to_string(crash_step));
    Clock clock;
    const std::string dir = TempDir(), copy = TempDir();
    {
      auto s = Store::Open(Opts(dir, clock, std::chrono::hours(24)));
      ASSERT_TRUE(s.ok());
      PushFile(s->get(), kNow - 30 * kHour);
      PushFile(s->get(), kNow);
      ASSERT_TRUE((*s)->TEST_Checkpoint().ok());
      (*s)->TEST_SetRetentionHook([&](int step) {
        if (step == crash_step) {
          EXPECT_EQ(std::system(("cp -a " + dir + "/. " + copy + "/").c_str()), 0);
          return Status::IOError("injected crash");
        }
        return Status::OK();
      });
      EXPECT_FALSE((*s)->RunRetentionNow().ok());
    }
    {
      auto s = Store::Open(Opts(copy, clock, Duration(0)));  // retention off: what is on disk
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      EXPECT_EQ(ExpectKeptOnce(s->get(), 0), crash_step == 1 ? 200u : 100u);
      EXPECT_EQ((*s)->Stats().files, crash_step == 1 ? 2u : 1u);
    }
    auto s = Store::Open(Opts(copy, clock, std::chrono::hours(24)));
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(ExpectKeptOnce(s->get(), kNow - 24 * kHour), 100u);
    ASSERT_TRUE((*s)->RunRetentionNow().ok());
    EXPECT_EQ((*s)->Stats().files, 1u);
    size_t on_disk = 0;
    for (const auto& e : std::filesystem::directory_iterator(copy)) {
      on_disk += e.path().filename().string().starts_with("flush-");
    }
    EXPECT_EQ(on_disk, 1u);
  }
}

// A file a merge or the rotation holds is left for the next pass.
TEST(Retention, ClaimedFilesAreLeftForTheNextPass) {
  const std::string dir = TempDir();
  auto catalog = storage::Catalog::Open(dir);
  ASSERT_TRUE(catalog.ok());
  storage::FileSet files;
  storage::CatalogEntry e;
  e.kind = storage::FileKind::kSegment;
  e.path = "segment-1-2-1.sqlite.zst";
  e.min_ts = 1;
  e.max_ts = 2;
  e.rows = 7;
  ASSERT_TRUE((*catalog)->Add(&e).ok());
  files.Add(std::make_shared<const storage::FileHandle>(e, io::JoinPath(dir, e.path), io::DefaultFileSystem()));
  RetentionOptions ro;
  ro.max_age = std::chrono::hours(1);
  ro.now_ns = [] { return kNow; };
  Retention r(ro, dir, io::DefaultFileSystem(), catalog->get(), &files, nullptr, nullptr);
  ASSERT_TRUE(files.Claim({e.id}));
  ASSERT_TRUE(r.RunOnce().ok());
  EXPECT_EQ(files.size(), 1u);
  EXPECT_EQ(r.stats().skipped_claimed, 1u);
  files.Unclaim({e.id});
  ASSERT_TRUE(r.RunOnce().ok());
  EXPECT_EQ(files.size(), 0u);
  EXPECT_EQ(r.stats().rows_deleted, 7u);
  auto rows = (*catalog)->List();
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
}

// A flush file whose WAL records are above the watermark stays: WAL replay
// would otherwise bring its rows back after a restart.
TEST(Retention, FlushFilesWaitForTheirCheckpoint) {
  Clock clock;
  auto s = Store::Open(Opts(TempDir(), clock, std::chrono::hours(24)));
  ASSERT_TRUE(s.ok());
  PushFile(s->get(), kNow - 30 * kHour);
  ASSERT_TRUE((*s)->RunRetentionNow().ok());
  EXPECT_EQ((*s)->Stats().files, 1u);
  EXPECT_TRUE(All(s->get()).empty());  // clipped all the same
  ASSERT_TRUE((*s)->TEST_Checkpoint().ok());
  ASSERT_TRUE((*s)->RunRetentionNow().ok());
  EXPECT_EQ((*s)->Stats().files, 0u);
}

TEST(Retention, RulesParseAndRejectWhatIsNotASelectorWithAPeriod) {
  auto r = ParseRetentionRule("{app=\"debug\", env=~\"dev|test\"}=24h");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->matchers.size(), 2u);
  EXPECT_EQ(r->age, std::chrono::hours(24));
  auto d = ParseRetentionRule("{app=\"audit\"}=1y");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->age, std::chrono::hours(24 * 365));
  for (const char* bad : {"{app=\"x\"}", "{app=\"x\"}=", "{app=\"x\"}=soon", "{app=\"x\"}=0",
                          "{app=\"x\"} |= \"y\"=1h", "app=x=1h", "{app=\"x\"}=-1h"}) {
    EXPECT_FALSE(ParseRetentionRule(bad).ok()) << bad;
  }
  EXPECT_EQ(*ParseRetentionPeriod("30d"), std::chrono::hours(720));
  EXPECT_EQ(*ParseRetentionPeriod("2w"), std::chrono::hours(336));
  EXPECT_EQ(*ParseRetentionPeriod("0"), Duration(0));
  EXPECT_FALSE(ParseRetentionPeriod("-1h").ok());
}

// --retention 24h with {app="debug"}=1h (shorter) and {app="audit"}=48h
// (longer): queries clip each stream by its own period, head and files
// alike, before any pass; the pass drops a file none of whose streams keeps
// a row, and keeps a file one of whose streams does.
TEST(Retention, PerStreamRulesClipQueriesAndDropFilesWithNothingKept) {
  Clock clock;
  auto o = Opts(TempDir(), clock, std::chrono::hours(24));
  o.retention.rules.push_back(*ParseRetentionRule("{app=\"debug\"}=1h"));
  o.retention.rules.push_back(*ParseRetentionRule("{app=\"audit\"}=48h"));
  auto s = Store::Open(o);
  ASSERT_TRUE(s.ok());
  Store* st = s->get();
  PushFile(st, kNow - 3 * kHour, "debug");   // expired (1h)
  PushFile(st, kNow - 30 * kHour, "audit");  // kept (48h)
  PushFile(st, kNow - 30 * kHour, "web");    // expired (24h)
  PushFile(st, kNow - 3 * kHour, "web");     // kept
  ASSERT_TRUE(st->TEST_Checkpoint().ok());
  // Fresh rows in the head: debug rows 2h old are hidden there too.
  {
    Payload p;
    Stream d;
    d.labels = {{"app", "debug"}};
    d.entries.push_back({kNow - 2 * kHour, "debug head old", ""});
    d.entries.push_back({kNow, "debug head new", ""});
    p.streams.push_back(std::move(d));
    ASSERT_TRUE(st->Push(std::move(p)).ok());
  }
  auto count = [&](const std::string& app) {
    size_t n = 0;
    for (const auto& h : All(st)) n += h.labels_json.find("\"" + app + "\"") != std::string::npos;
    return n;
  };
  EXPECT_EQ(count("debug"), 1u);
  EXPECT_EQ(count("audit"), 100u);
  EXPECT_EQ(count("web"), 100u);
  // A metric query agrees.
  {
    query::Engine engine(query::EngineOptions{}, st);
    auto e = query::ParseExpr("sum by (app) (count_over_time({app=~\".+\"}[100h]))", query::ParseOptions{});
    ASSERT_TRUE(e.ok());
    query::MetricQuery mq;
    mq.expr = *e;
    mq.start = mq.end = kNow;
    mq.instant = true;
    auto m = engine.RunMetric(mq);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    std::map<std::string, double> by_app;
    for (const auto& series : m->series) by_app[series.metric[0].second] = series.points[0].second;
    EXPECT_EQ(by_app["debug"], 1.0);
    EXPECT_EQ(by_app["audit"], 100.0);
    EXPECT_EQ(by_app["web"], 100.0);
  }
  ASSERT_TRUE(st->FlushAll().ok());
  ASSERT_TRUE(st->TEST_Checkpoint().ok());
  ASSERT_TRUE(st->RunRetentionNow().ok());
  // Gone: the debug file (1h) and the old web file (24h); the audit file
  // stays (48h), so does the fresh web file and the head's debug file
  // (its newest row is fresh).
  EXPECT_EQ(st->Stats().files, 3u);
  EXPECT_EQ(st->Stats().retention.files_deleted, 2u);
  EXPECT_EQ(count("debug"), 1u);
  EXPECT_EQ(count("audit"), 100u);
  EXPECT_EQ(count("web"), 100u);
}

// A file holding both a stream past its rule and one kept: the pass
// rewrites it without the expired rows (they are gone from the bytes), keeps
// every other row once, and leaves the rewritten file alone afterwards.
TEST(Retention, AFileWithExpiredAndKeptRowsIsRewrittenWithoutTheExpiredOnes) {
  Clock clock;
  const std::string dir = TempDir();
  auto o = Opts(dir, clock, Duration(0));  // keep forever, but debug for 1h
  o.retention.rules.push_back(*ParseRetentionRule("{app=\"debug\"}=1h"));
  o.buckets = 1;  // both streams in one flush file
  auto s = Store::Open(o);
  ASSERT_TRUE(s.ok());
  Store* st = s->get();
  Payload p;
  for (const std::string app : {"debug", "web"}) {
    Stream one;
    one.labels = {{"app", app}};
    for (int i = 0; i < 100; i++) {
      // debug: 3h old (expired); web: the same times (kept forever).
      one.entries.push_back({kNow - 3 * kHour + i, app + " verbose line " + std::to_string(i), ""});
    }
    p.streams.push_back(std::move(one));
  }
  ASSERT_TRUE(st->Push(std::move(p)).ok());
  ASSERT_TRUE(st->FlushAll().ok());
  ASSERT_TRUE(st->TEST_Checkpoint().ok());
  ASSERT_EQ(st->Stats().files, 1u);
  ASSERT_NE(DecompressedDataFiles(dir).find("debug verbose line"), std::string::npos);
  EXPECT_EQ(ExpectKeptOnce(st, kNow - 3 * kHour), 100u);  // hidden before the pass
  ASSERT_TRUE(st->RunRetentionNow().ok());
  EXPECT_EQ(st->Stats().retention.files_rewritten, 1u);
  EXPECT_EQ(st->Stats().retention.rows_deleted, 100u);
  EXPECT_EQ(st->Stats().files, 1u);
  EXPECT_EQ(DecompressedDataFiles(dir).find("debug verbose line"), std::string::npos);
  EXPECT_NE(DecompressedDataFiles(dir).find("web verbose line"), std::string::npos);
  EXPECT_EQ(ExpectKeptOnce(st, kNow - 3 * kHour), 100u);
  // Nothing left to expire in it: a second pass rewrites nothing.
  ASSERT_TRUE(st->RunRetentionNow().ok());
  EXPECT_EQ(st->Stats().retention.files_rewritten, 1u);
}

}  // namespace
}  // namespace loge::store
