#include "query/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

#include "io/file_system.h"
#include "query/metric.h"
#include "storage/segment_writer.h"
#include "storage/segment_writer_v1.h"
#include "storage/zstd_vfs.h"

namespace loge::query {
namespace {

struct Row {
  Labels labels;
  Entry e;
};

// A DataSource over real files plus an in-memory head.
class FakeSource : public DataSource {
 public:
  std::vector<Row> head;
  std::vector<FileRef> files;
  void Snapshot(const Query& q, TopK* top, std::vector<FileRef>* out) override {
    for (const auto& r : head) {
      if (q.MatchesLabels(r.labels) && q.InWindow(r.e.ts) && q.MatchesLine(r.e.line)) {
        top->Add(Hit{r.e.ts, r.e.line, LabelsToJson(r.labels), r.e.metadata});
      }
    }
    *out = files;
  }
  std::vector<std::string> LabelKeys() override { return {}; }
};

// How EngineTest::AddFile writes a file. Format 2: group filters every
// filter_lines lines when > 0 (with or without trigram keys), else none.
// Format 1 (the old format, still read): none when filter_lines < 0,
// whole-file token and trigram filters when 0, plus group filters every
// filter_lines when > 0.
struct Layout {
  int format = 2;
  int filter_lines = -1;
  bool trigrams = true;
};

// A 32-hex id, the same for the same n.
std::string LongId(uint64_t n) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  uint64_t x = n * 0x9E3779B97F4A7C15ull + 12345;
  for (int i = 0; i < 32; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    s.push_back(hex[(x >> 59) & 15]);
  }
  return s;
}

class EngineTest : public ::testing::Test {
 public:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/engineXXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }

  // Writes rows (any order) as one file and registers it.
  void AddFile(std::vector<Row> rows, Layout layout = {}) {
    std::map<Labels, std::vector<Entry>> by;
    for (auto& r : rows) by[r.labels].push_back(r.e);
    for (auto& [l, es] : by) {
      std::stable_sort(es.begin(), es.end(), [](const Entry& a, const Entry& b) { return a.ts < b.ts; });
    }
    std::string path = dir_ + "/f" + std::to_string(src_.files.size()) + ".sqlite.zst";
    storage::SegmentInfo info;
    if (layout.format == 2) {
      storage::SegmentWriterOptions wo;
      wo.group_lines = layout.filter_lines > 0 ? static_cast<size_t>(layout.filter_lines) : 0;
      wo.trigram_filters = layout.trigrams;
      storage::SegmentWriter w(wo);
      for (auto& [l, es] : by) ASSERT_TRUE(w.AddStream(l, es).ok());
      ASSERT_TRUE(w.WriteFile(io::DefaultFileSystem(), path, 1, &info).ok());
      if (info.filters) groups_ += info.filters->groups.size();
    } else {
      storage::SegmentWriterV1 w;
      if (layout.filter_lines >= 0) w.EnableFilters(static_cast<size_t>(layout.filter_lines));
      for (auto& [l, es] : by) ASSERT_TRUE(w.AddStream(l, es).ok());
      auto image = w.Finish(&info);
      ASSERT_TRUE(image.ok());
      ASSERT_TRUE(storage::WriteV1File(io::DefaultFileSystem(), path, *image).ok());
      info.format_version = 1;
      groups_ += w.TEST_groups();
    }
    storage::CatalogEntry e = storage::EntryFor(storage::FileKind::kSegment, path, info, 0);
    e.id = static_cast<int64_t>(src_.files.size()) + 1;
    src_.files.push_back(std::make_shared<storage::FileHandle>(e, path, nullptr));
    all_.insert(all_.end(), rows.begin(), rows.end());
  }

  std::vector<Hit> BruteForce(const Query& q) {
    TopK top(q.limit);
    for (const auto& r : all_) {
      if (q.MatchesLabels(r.labels) && q.InWindow(r.e.ts) && q.MatchesLine(r.e.line)) {
        top.Add(Hit{r.e.ts, r.e.line, LabelsToJson(r.labels), r.e.metadata});
      }
    }
    for (const auto& r : src_.head) {
      if (q.MatchesLabels(r.labels) && q.InWindow(r.e.ts) && q.MatchesLine(r.e.line)) {
        top.Add(Hit{r.e.ts, r.e.line, LabelsToJson(r.labels), r.e.metadata});
      }
    }
    return top.TakeSortedNewestFirst();
  }

  std::string dir_;
  uint64_t groups_ = 0;  // block groups written
  FakeSource src_;
  std::vector<Row> all_;
};

TEST_F(EngineTest, MatchesBruteForceOnRandomDataAndQueries) {
  std::mt19937_64 rng(42);
  const char* apps[] = {"web", "api", "db"};
  const char* words[] = {"timeout", "ok", "error", "slow", "retry", "GET", "POST"};
  auto make_row = [&](int64_t base) {
    Row r;
    r.labels = {{"app", apps[rng() % 3]}};
    if (rng() % 2) r.labels.push_back({"env", rng() % 2 ? "prod" : "dev"});
    r.e.ts = base + static_cast<int64_t>(rng() % 1000);
    r.e.line = std::string(words[rng() % 7]) + " " + std::to_string(rng() % 100) + " " + words[rng() % 7];
    // Rare ids, so group filters rule out most groups for some needles:
    // short ones (trigrams) and long hex-like ones (id keys).
    if (rng() % 10 == 0) r.e.line += " id=rq-" + std::to_string(rng() % 40) + "x";
    if (rng() % 10 == 0) r.e.line += " trace=" + LongId(rng() % 40);
    return r;
  };
  // Files of both formats, without filters, with whole-file filters (format
  // 1), and with group filters of a few blocks (the writer cuts blocks per
  // stream, groups span streams), with and without trigram keys (format 2).
  for (int f = 0; f < 16; f++) {
    std::vector<Row> rows;
    for (int i = 0; i < 300; i++) rows.push_back(make_row(f * 600));  // overlapping windows
    const int g = 1 + static_cast<int>(rng() % 60);
    switch (f % 5) {
      case 0: AddFile(rows, {2, -1}); break;
      case 1: AddFile(rows, {1, 0}); break;
      case 2: AddFile(rows, {1, g}); break;
      case 3: AddFile(rows, {2, g, true}); break;
      default: AddFile(rows, {2, g, rng() % 2 == 0}); break;
    }
  }
  ASSERT_GT(groups_, 12u);
  uint64_t groups_skipped = 0;
  for (int i = 0; i < 200; i++) src_.head.push_back(make_row(9000));

  EngineOptions eo;
  eo.concurrency = 4;
  Engine engine(eo, &src_);
  for (int qi = 0; qi < 150; qi++) {
    Query q;
    q.limit = 1 + rng() % 200;
    if (rng() % 2) {
      q.start = static_cast<int64_t>(rng() % 10000);
      q.end = q.start + static_cast<int64_t>(rng() % 5000);
    }
    if (rng() % 2) {
      auto t = static_cast<MatchType>(rng() % 4);
      std::string v = t == MatchType::kRe || t == MatchType::kNre ? "w.*|db" : apps[rng() % 3];
      q.matchers.push_back(*LabelMatcher::Make("app", v, t));
    }
    if (rng() % 3 == 0) q.matchers.push_back(*LabelMatcher::Make("env", "prod", MatchType::kEq));
    if (rng() % 2) q.line_filters.push_back(*LineFilter::Make(LineFilterType::kContains, words[rng() % 7]));
    if (rng() % 4 == 0) {
      // A long id, whole or cut at either end (at least 16 bytes stay, so
      // some needles have id keys), alone or or-ed.
      std::string id = LongId(rng() % 45);
      std::string needle = id.substr(rng() % 8, id.size() - 8 + rng() % 8);
      std::vector<std::string> alts = {needle};
      if (rng() % 3 == 0) alts.push_back(LongId(rng() % 45));
      q.line_filters.push_back(*LineFilter::Make(LineFilterType::kContains, alts));
    } else if (rng() % 3 == 0) {
      // A rare id, whole ("rq-7x") or cut ("q-7", "-17x"), alone or or-ed.
      std::string id = "rq-" + std::to_string(rng() % 45) + "x";
      std::string needle = id.substr(rng() % 2, id.size() - rng() % 2);
      std::vector<std::string> alts = {needle};
      if (rng() % 3 == 0) alts.push_back("rq-" + std::to_string(rng() % 45) + "x");
      q.line_filters.push_back(*LineFilter::Make(LineFilterType::kContains, alts));
    }
    if (rng() % 4 == 0) q.line_filters.push_back(*LineFilter::Make(LineFilterType::kNotContains, "ok"));
    SCOPED_TRACE("query " + std::to_string(qi));
    auto got = engine.Run(q);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    groups_skipped += got->stats.block_groups_skipped;
    auto want = BruteForce(q);
    ASSERT_EQ(got->hits.size(), want.size());
    for (size_t i = 0; i < want.size(); i++) {
      EXPECT_EQ(got->hits[i].ts, want[i].ts);
      EXPECT_EQ(got->hits[i].line, want[i].line);
      EXPECT_EQ(got->hits[i].labels_json, want[i].labels_json);
    }
  }
  EXPECT_GT(groups_skipped, 0u);  // the group path ran
}

// A needle in one line of a file with a group per block reads that block only.
TEST_F(EngineTest, GroupFiltersReadOnlyTheCandidateBlocks) {
  std::vector<Row> rows;
  for (int s = 0; s < 8; s++) {
    for (int i = 0; i < 1000; i++) {
      Row r;
      r.labels = {{"app", "svc" + std::to_string(s)}};
      r.e.ts = i * 10 + s;
      r.e.line = "GET /api/items/" + std::to_string(i % 97) + " status=200 request_id=" + std::to_string(s * 1000 + i);
      if (s == 5 && i == 321) r.e.line += " trace=Zebra7quux";
      rows.push_back(std::move(r));
    }
  }
  AddFile(rows, {2, 256});
  ASSERT_GE(groups_, 24u);  // 8 streams x 4 blocks; a short last block joins the next
  Engine engine(EngineOptions{}, &src_);
  Query q;
  q.limit = 100;
  q.line_filters.push_back(*LineFilter::Make(LineFilterType::kContains, "ebra7qu"));
  auto r = engine.Run(q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->hits.size(), 1u);
  EXPECT_EQ(r->hits[0].ts, 3215);
  EXPECT_EQ(r->stats.blocks_scanned, 1u);
  EXPECT_EQ(r->stats.block_groups_skipped, groups_ - 1);

  // A common needle keeps the newest-first scan and its early stop.
  q.line_filters = {*LineFilter::Make(LineFilterType::kContains, "status=200")};
  q.limit = 10;
  r = engine.Run(q);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->hits.size(), 10u);
  EXPECT_EQ(r->hits[0].ts, 9997);
  EXPECT_EQ(r->stats.block_groups_skipped, 0u);
  EXPECT_LE(r->stats.blocks_scanned, 8u);
}

TEST_F(EngineTest, SmallLimitOpensOnlyTheNewestFiles) {
  for (int f = 0; f < 20; f++) {
    std::vector<Row> rows;
    for (int i = 0; i < 50; i++) rows.push_back(Row{{{"app", "web"}}, {f * 1000 + i, "line", ""}});
    AddFile(rows);
  }
  Engine engine(EngineOptions{1}, &src_);
  Query q;
  q.limit = 10;
  auto r = engine.Run(q);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.files_considered, 20u);
  EXPECT_EQ(r->stats.files_opened, 1u);
  EXPECT_EQ(r->hits.front().ts, 19049);
}

// A narrow window on one stream reads the frames of the blocks in the window,
// not one frame per newer block of the stream (blocks_by_stream holds min_ts).
void NarrowWindowCase(EngineTest* t, Layout layout, uint64_t max_frames);

TEST_F(EngineTest, NarrowWindowOnOneStreamReadsFewFrames) {
  // Format 1: header and schema, streams, the index, the block: 4 frames
  // here, where testing min_ts in the table rows read 19 (every frame of
  // newer blocks).
  NarrowWindowCase(this, {1, 0}, 8);
}

TEST_F(EngineTest, NarrowWindowOnOneStreamReadsFewFramesFormat2) {
  // Format 2: the head frame, the tail frames the index and block rows are
  // in, and the one text frame of the block.
  NarrowWindowCase(this, {2, 1024}, 8);
}

void NarrowWindowCase(EngineTest* t, Layout layout, uint64_t max_frames) {
  std::vector<Row> rows;
  for (int s = 0; s < 2; s++) {
    for (int i = 0; i < 40000; i++) {
      Row r;
      r.labels = {{"app", s ? "web" : "db"}};
      r.e.ts = i * 10 + s;
      r.e.line = "line " + std::to_string(i) + " of stream " + std::to_string(s) + " with some padding text";
      rows.push_back(std::move(r));
    }
  }
  t->AddFile(rows, layout);  // 2 x 157 blocks
  Engine engine(EngineOptions{}, &t->src_);
  Query q;
  q.matchers.push_back(*LabelMatcher::Make("app", "web", MatchType::kEq));
  q.start = 100000;  // rows 10000..10009 of stream 1: one block, 3/4 of the stream is newer
  q.end = 100099;
  storage::TEST_ClearFrameCache();
  uint64_t before = storage::GetVfsStats().frames_decompressed;
  auto r = engine.Run(q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->hits.size(), 10u);
  EXPECT_EQ(r->hits[0].ts, 100091);
  EXPECT_LE(storage::GetVfsStats().frames_decompressed - before, max_frames);
}

TEST_F(EngineTest, TimeWindowPrunesFilesWithoutOpeningThem) {
  for (int f = 0; f < 5; f++) AddFile({Row{{{"app", "web"}}, {f * 100, "x", ""}}});
  Engine engine(EngineOptions{}, &src_);
  Query q;
  q.start = 150;
  q.end = 250;
  auto r = engine.Run(q);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.files_pruned, 4u);
  EXPECT_EQ(r->stats.files_opened, 1u);
  ASSERT_EQ(r->hits.size(), 1u);
  EXPECT_EQ(r->hits[0].ts, 200);
}

TEST_F(EngineTest, FileWithUnknownLabelKeysIsNotPrunedByLabel) {
  AddFile({Row{{{"app", "web"}}, {1, "x", ""}}});
  AddFile({Row{{{"app", "web"}}, {2, "y", ""}}});
  // The second file as reconcile adopts it from a bucket listing: keys unknown.
  storage::CatalogEntry e = src_.files[1]->entry;
  e.label_keys.clear();
  e.label_keys_known = false;
  std::string path = src_.files[1]->local_path;
  src_.files[1] = std::make_shared<storage::FileHandle>(e, path, nullptr);
  // A known-empty key list still prunes.
  storage::CatalogEntry known = src_.files[0]->entry;
  known.label_keys.clear();
  path = src_.files[0]->local_path;
  src_.files[0] = std::make_shared<storage::FileHandle>(known, path, nullptr);
  Engine engine(EngineOptions{}, &src_);
  Query q;
  q.matchers.push_back(*LabelMatcher::Make("app", "web", MatchType::kEq));
  auto r = engine.Run(q);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stats.pruned_by_labels, 1u);
  ASSERT_EQ(r->hits.size(), 1u);
  EXPECT_EQ(r->hits[0].line, "y");
}

TEST_F(EngineTest, MetadataComesBackWithItsRow) {
  AddFile({Row{{{"app", "web"}}, {1, "a", "{\"trace_id\":\"abc\"}"}}, Row{{{"app", "web"}}, {2, "b", ""}}});
  Engine engine(EngineOptions{}, &src_);
  auto r = engine.Run(Query{});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->hits.size(), 2u);
  EXPECT_EQ(r->hits[0].metadata, "");
  EXPECT_EQ(r->hits[1].metadata, "{\"trace_id\":\"abc\"}");
}

// ---- Cancellation (query/cancel.h): every read path stops with the reason.

// A source whose head read marks the client gone, as a disconnect during
// the query would.
class GoneDuringSnapshot : public FakeSource {
 public:
  std::shared_ptr<std::atomic<bool>> gone = std::make_shared<std::atomic<bool>>(false);
  void Snapshot(const Query& q, TopK* top, std::vector<FileRef>* out) override {
    FakeSource::Snapshot(q, top, out);
    gone->store(true);
  }
};

std::vector<Row> ManyRows(int64_t base, int n) {
  std::vector<Row> rows;
  for (int i = 0; i < n; i++) rows.push_back(Row{{{"app", i % 2 ? "web" : "db"}}, Entry{base + i, "line " + std::to_string(i), ""}});
  return rows;
}

TEST_F(EngineTest, ExpiredDeadlineStopsEveryReadPathWithDeadlineExceeded) {
  for (int f = 0; f < 3; f++) AddFile(ManyRows(f * 1000, 500));
  src_.head = ManyRows(5000, 10);
  Engine engine(EngineOptions{2}, &src_);
  Query q;
  q.cancel = std::make_shared<const Cancel>(std::chrono::nanoseconds(1), nullptr);
  auto check = [](const Status& st, const char* path) {
    SCOPED_TRACE(path);
    EXPECT_EQ(st.code(), Code::kDeadlineExceeded) << st.ToString();
    EXPECT_NE(st.message().find("--query-timeout"), std::string::npos) << st.message();
  };
  check(engine.Run(q).status(), "Run");
  check(engine.Plan(q).status(), "Plan");
  check(engine.VolumeOf(q, 1000, 6, 1'000'000).status(), "VolumeOf");
  check(engine.LabelValuesOf(q, "app", 100).status(), "LabelValuesOf");
  check(engine.StreamsOf(q, StreamsRequest{}).status(), "StreamsOf");
  check(engine.PatternsOf(q, 1000, 1'000'000).status(), "PatternsOf");
  auto e = ParseExpr(R"(count_over_time({app="web"}[1s]))", ParseOptions{});
  ASSERT_TRUE(e.ok());
  MetricQuery mq;
  mq.expr = *e;
  mq.start = 0;
  mq.end = 6000;
  mq.step = 1000;
  ScopedCancel scope(q.cancel);  // a metric query's selectors get it through Clip
  check(engine.RunMetric(mq).status(), "RunMetric");
}

TEST_F(EngineTest, ClientGoneDuringTheQueryStopsItWithCancelled) {
  GoneDuringSnapshot src;
  for (int f = 0; f < 3; f++) {
    AddFile(ManyRows(f * 1000, 500));
    src.files.push_back(src_.files.back());
  }
  Engine engine(EngineOptions{2}, &src);
  Query q;
  q.cancel = std::make_shared<const Cancel>(std::chrono::hours(1), src.gone);
  auto r = engine.Run(q);
  EXPECT_EQ(r.status().code(), Code::kCancelled) << r.status().ToString();
}

TEST_F(EngineTest, TheThreadsCancelReachesAQueryThatSetsNone) {
  AddFile(ManyRows(0, 500));
  Engine engine(EngineOptions{2}, &src_);
  auto gone = std::make_shared<std::atomic<bool>>(true);
  {
    ScopedCancel scope(std::make_shared<const Cancel>(std::chrono::hours(1), gone));
    EXPECT_EQ(engine.Run(Query{}).status().code(), Code::kCancelled);
  }
  // Outside the scope the same query runs to the end.
  auto r = engine.Run(Query{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->hits.size(), kDefaultLimit);
}

TEST_F(EngineTest, AQueryWithinItsDeadlineAnswersAsWithoutOne) {
  for (int f = 0; f < 3; f++) AddFile(ManyRows(f * 1000, 500));
  Engine engine(EngineOptions{2}, &src_);
  Query q;
  q.limit = 700;
  q.cancel = std::make_shared<const Cancel>(std::chrono::hours(1), std::make_shared<std::atomic<bool>>(false));
  auto r = engine.Run(q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto want = BruteForce(q);
  ASSERT_EQ(r->hits.size(), want.size());
  for (size_t i = 0; i < want.size(); i++) EXPECT_EQ(r->hits[i].ts, want[i].ts);
}

}  // namespace
}  // namespace loge::query
