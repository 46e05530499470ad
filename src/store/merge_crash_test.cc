// Merges through the store: results unchanged, pruning works, and a crash at
// every step of every merge kind loses and duplicates nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include "store/store.h"
#include "store/test_files.h"
#include "io/file_system.h"

namespace loge::store {
namespace {

std::string TempDir() { return NewTestDir("compact"); }

StoreOptions Opts(const std::string& dir) {
  StoreOptions o = WhenToldOptions(dir);
  o.merge_level = 1;
  return o;
}

// Pushes `files` flushes of 50 rows each over three streams.
void Fill(Store* ing, int files, int first = 0) {
  const char* apps[] = {"web", "api", "db"};
  for (int f = first; f < first + files; f++) {
    Payload p;
    for (int a = 0; a < 3; a++) {
      Stream s;
      s.labels = {{"app", apps[a]}};
      if (a == 2) s.labels.push_back({"zone", "eu"});
      for (int i = 0; i < 50; i++) {
        int64_t ts = f * 1000 + a * 100 + i;
        s.entries.push_back({ts, std::string(apps[a]) + " request_id=req" + std::to_string(ts) + " done", ""});
      }
      p.streams.push_back(std::move(s));
    }
    ASSERT_TRUE(ing->Push(std::move(p)).ok());
    ASSERT_TRUE(ing->FlushAll().ok());
  }
}

query::QueryResult RunQuery(Store* ing, query::Query q) {
  query::Engine engine(query::EngineOptions{}, ing);
  auto r = engine.Run(q);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : query::QueryResult{};
}

query::Query All() {
  query::Query q;
  q.limit = query::kMaxLimit;
  return q;
}

// Every (ts, labels, line) exactly once.
void ExpectEachRowOnce(Store* ing, size_t want) {
  auto r = RunQuery(ing, All());
  std::map<std::string, int> seen;
  for (const auto& h : r.hits) seen[std::to_string(h.ts) + h.labels_json + h.line]++;
  EXPECT_EQ(r.hits.size(), want);
  for (const auto& [k, n] : seen) EXPECT_EQ(n, 1) << k;
}

TEST(Merges, MergesFlushFilesAndKeepsResultsIdentical) {
  std::string dir = TempDir();
  auto ing = Store::Open(Opts(dir));
  ASSERT_TRUE(ing.ok());
  Fill(ing->get(), 10);
  auto before = RunQuery(ing->get(), All());
  ASSERT_EQ(before.hits.size(), 1500u);
  ASSERT_TRUE((*ing)->CompactNow().ok());
  auto st = (*ing)->Stats();
  EXPECT_EQ(st.segments, 1u);
  EXPECT_EQ(st.flush_files, 0u);
  auto after = RunQuery(ing->get(), All());
  ASSERT_EQ(after.hits.size(), before.hits.size());
  for (size_t i = 0; i < after.hits.size(); i++) {
    EXPECT_EQ(after.hits[i].ts, before.hits[i].ts);
    EXPECT_EQ(after.hits[i].line, before.hits[i].line);
    EXPECT_EQ(after.hits[i].labels_json, before.hits[i].labels_json);
  }
  // The sources are gone from disk once nobody reads them.
  auto names = io::DefaultFileSystem()->ListDir(dir);
  for (const auto& n : *names) EXPECT_NE(n.rfind("flush-", 0), 0u) << n;
}

TEST(Merges, FiltersPruneSegmentsWithoutOpeningThem) {
  std::string dir = TempDir();
  auto o = Opts(dir);
  o.segment_bytes = 30000;  // 4 flushes (~16 KB of text) make a final segment: two stay apart
  auto ing = Store::Open(o);
  ASSERT_TRUE(ing.ok());
  Fill(ing->get(), 4);
  ASSERT_TRUE((*ing)->CompactNow().ok());
  Fill(ing->get(), 4, 4);
  ASSERT_TRUE((*ing)->CompactNow().ok());
  ASSERT_EQ((*ing)->Stats().segments, 2u);

  query::Query q = All();
  q.line_filters.push_back(*query::LineFilter::Make(query::LineFilterType::kContains, "nowhere-at-all"));
  auto r = RunQuery(ing->get(), q);
  EXPECT_EQ(r.hits.size(), 0u);
  EXPECT_EQ(r.stats.files_opened, 0u);
  EXPECT_EQ(r.stats.pruned_by_filter, 2u);

  // A token that exists in one segment only.
  q = All();
  q.line_filters.push_back(*query::LineFilter::Make(query::LineFilterType::kContains, " request_id=req1010 "));
  r = RunQuery(ing->get(), q);
  EXPECT_EQ(r.hits.size(), 1u);
  EXPECT_EQ(r.stats.files_opened, 1u);

  // A label key no file has.
  q = All();
  q.matchers.push_back(*query::LabelMatcher::Make("team", "x", query::MatchType::kEq));
  r = RunQuery(ing->get(), q);
  EXPECT_EQ(r.stats.pruned_by_labels, 2u);
  EXPECT_EQ(r.stats.files_opened, 0u);

  // limit 10 opens only the newest segment.
  q = All();
  q.limit = 10;
  r = RunQuery(ing->get(), q);
  EXPECT_EQ(r.stats.files_opened, 1u);
}

// A random 32-hex id, the same for the same n.
std::string TraceId(int64_t n) {
  std::mt19937_64 r(static_cast<uint64_t>(n) * 7919 + 5);
  std::string s;
  for (int i = 0; i < 32; i++) s.push_back("0123456789abcdef"[r() % 16]);
  return s;
}

// A local segment's filters are mapped from its filter frame (format 3),
// not copied onto the heap: a needle finds its row through them, after a
// restart too, an absent one opens nothing, and the heap holds only the
// groups' ranges. The filter cache (format 2's lazy groups) stays unused.
TEST(Merges, NeedlesProbeTheMappedFiltersOfSegments) {
  std::string dir = TempDir();
  auto o = Opts(dir);
  o.segment_bytes = 40000;  // 4 flushes (~37 KB of text) make a final segment
  for (int open = 0; open < 2; open++) {
    SCOPED_TRACE(open);
    auto ing = Store::Open(o);
    ASSERT_TRUE(ing.ok());
    if (open == 0) {
      // Two segments of 4 flushes; a 32-hex trace id per 10 lines.
      for (int seg = 0; seg < 2; seg++) {
        for (int f = seg * 4; f < seg * 4 + 4; f++) {
          Payload p;
          Stream s;
          s.labels = {{"app", "web"}};
          for (int i = 0; i < 150; i++) {
            const int64_t ts = f * 1000 + i;
            s.entries.push_back({ts, "GET /orders trace=" + TraceId(ts / 10) + " done", ""});
          }
          p.streams.push_back(std::move(s));
          ASSERT_TRUE((*ing)->Push(std::move(p)).ok());
          ASSERT_TRUE((*ing)->FlushAll().ok());
        }
        EXPECT_GT((*ing)->Stats().filter_mapped_bytes, 0u);  // the flush files' too
        ASSERT_TRUE((*ing)->CompactNow().ok());
      }
    }
    ASSERT_EQ((*ing)->Stats().segments, 2u);
    const StoreStats before = (*ing)->Stats();
    EXPECT_EQ(before.filter_memory_flush_bytes, 0u);  // every flush file was merged
    EXPECT_GT(before.filter_mapped_bytes, 0u);
    // On the heap: the groups' ranges alone, far less than the filters.
    EXPECT_LT(before.filter_memory_bytes, before.filter_mapped_bytes);
    EXPECT_EQ(before.filter_cache_bytes, 0u);

    query::Query q = All();
    q.line_filters.push_back(*query::LineFilter::Make(query::LineFilterType::kContains, TraceId(101)));
    auto r = RunQuery(ing->get(), q);
    ASSERT_EQ(r.hits.size(), 10u);
    EXPECT_EQ(r.hits[0].line, "GET /orders trace=" + TraceId(101) + " done");
    EXPECT_EQ(r.stats.files_opened, 1u);
    q = All();
    q.line_filters.push_back(*query::LineFilter::Make(query::LineFilterType::kContains, TraceId(999999)));
    r = RunQuery(ing->get(), q);
    EXPECT_EQ(r.hits.size(), 0u);
    EXPECT_EQ(r.stats.files_opened, 0u);
    EXPECT_EQ(r.stats.pruned_by_filter, 2u);
    const StoreStats after = (*ing)->Stats();
    EXPECT_EQ(after.filter_cache_hits + after.filter_cache_misses, 0u);
  }
}

TEST(Merges, SurvivesRestartWithSegments) {
  std::string dir = TempDir();
  {
    auto ing = Store::Open(Opts(dir));
    ASSERT_TRUE(ing.ok());
    Fill(ing->get(), 5);
    ASSERT_TRUE((*ing)->CompactNow().ok());
    ASSERT_TRUE((*ing)->Close().ok());
  }
  auto ing = Store::Open(Opts(dir));
  ASSERT_TRUE(ing.ok());
  EXPECT_EQ((*ing)->Stats().segments, 1u);
  ExpectEachRowOnce(ing->get(), 750);
}

// A crash at each step of a merge of flush files (the hook abandons the
// merge there, and the directory is copied as a crash would leave it) loses
// and duplicates nothing, and a later merge on the recovered copy works.
TEST(Merges, CrashAtEveryStepLosesAndDuplicatesNothing) {
  for (int crash_step : {1, 2, 4, 5}) {
    SCOPED_TRACE("crash at step " + std::to_string(crash_step));
    std::string dir = TempDir();
    std::string copy = TempDir();
    {
      auto ing = Store::Open(Opts(dir));
      ASSERT_TRUE(ing.ok());
      Fill(ing->get(), 6);
      (*ing)->TEST_SetMergeHook([&](int step) {
        if (step == crash_step) {
          EXPECT_EQ(std::system(("cp -a " + dir + "/. " + copy + "/").c_str()), 0);
          return Status::IOError("injected crash");
        }
        return Status::OK();
      });
      EXPECT_FALSE((*ing)->CompactNow().ok());
    }
    auto ing = Store::Open(Opts(copy));
    ASSERT_TRUE(ing.ok()) << ing.status().ToString();
    ExpectEachRowOnce(ing->get(), 900);
    auto st = (*ing)->Stats();
    EXPECT_EQ(st.segments, crash_step >= 5 ? 1u : 0u);
    ASSERT_TRUE((*ing)->CompactNow().ok());
    ExpectEachRowOnce(ing->get(), 900);
  }
}

// The same for a merge of segments: two small segments into one. The
// inputs of a committed merge are retired in the same transaction, so a
// crash that leaves them on disk never brings them back as second copies.
TEST(Merges, CrashAtEveryStepOfASegmentMergeLosesAndDuplicatesNothing) {
  for (int crash_step : {1, 2, 4, 5}) {
    SCOPED_TRACE("crash at step " + std::to_string(crash_step));
    std::string dir = TempDir();
    std::string copy = TempDir();
    {
      auto ing = Store::Open(Opts(dir));
      ASSERT_TRUE(ing.ok());
      Fill(ing->get(), 4);
      ASSERT_TRUE((*ing)->CompactNow().ok());
      Fill(ing->get(), 4, 4);
      ASSERT_TRUE((*ing)->CompactNow().ok());  // flush files -> segment, then the two segments -> one
      ASSERT_EQ((*ing)->Stats().segments, 1u);
      Fill(ing->get(), 4, 8);
      // The next forced pass makes a third segment, then merges it with the
      // first: crash in that second merge (a merge of segments).
      int merges = 0;
      (*ing)->TEST_SetMergeHook([&](int step) {
        if (step == 1) merges++;
        if (merges == 2 && step == crash_step) {
          EXPECT_EQ(std::system(("cp -a " + dir + "/. " + copy + "/").c_str()), 0);
          return Status::IOError("injected crash");
        }
        return Status::OK();
      });
      EXPECT_FALSE((*ing)->CompactNow().ok());
    }
    auto ing = Store::Open(Opts(copy));
    ASSERT_TRUE(ing.ok()) << ing.status().ToString();
    ExpectEachRowOnce(ing->get(), 1800);
    ASSERT_TRUE((*ing)->CompactNow().ok());
    ExpectEachRowOnce(ing->get(), 1800);
    EXPECT_EQ((*ing)->Stats().segments, 1u);
  }
}

// Merges run in the background: after enough flush files the policy merges
// them without being told, and the stats say so.
TEST(Merges, BackgroundMergesRunOnTheirOwn) {
  std::string dir = TempDir();
  auto o = Opts(dir);
  o.merge_interval = std::chrono::hours(1);  // only woken by new flush files
  o.flush_merge_files = 4;
  auto ing = Store::Open(o);
  ASSERT_TRUE(ing.ok());
  Fill(ing->get(), 4);
  ASSERT_TRUE((*ing)->TEST_Checkpoint().ok());  // the flush files' WAL records are now safe to merge away
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((*ing)->Stats().merges == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a condition
  }
  auto st = (*ing)->Stats();
  EXPECT_EQ(st.merges, 1u);
  EXPECT_EQ(st.merged_rows, 600u);
  ExpectEachRowOnce(ing->get(), 600);
}

}  // namespace
}  // namespace loge::store
