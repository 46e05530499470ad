#include "query/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

#include "io/file_system.h"
#include "storage/segment_writer.h"
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

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/engineXXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }

  // Writes rows (any order) as one file and registers it. filters < 0: no
  // content filters (a flush file); else segment filters, plus group filters
  // every `filters` lines when > 0.
  void AddFile(std::vector<Row> rows, int filters = -1) {
    std::map<Labels, std::vector<Entry>> by;
    for (auto& r : rows) by[r.labels].push_back(r.e);
    storage::SegmentWriter w;
    if (filters >= 0) w.EnableFilters(static_cast<size_t>(filters));
    for (auto& [l, es] : by) {
      std::stable_sort(es.begin(), es.end(), [](const Entry& a, const Entry& b) { return a.ts < b.ts; });
      ASSERT_TRUE(w.AddStream(l, es).ok());
    }
    storage::SegmentInfo info;
    auto image = w.Finish(&info);
    ASSERT_TRUE(image.ok());
    std::string path = dir_ + "/f" + std::to_string(src_.files.size()) + ".sqlite.zst";
    ASSERT_TRUE(storage::WriteSegmentFile(io::DefaultFileSystem(), path, *image, {.level = 1}).ok());
    storage::CatalogEntry e;
    e.id = static_cast<int64_t>(src_.files.size()) + 1;
    e.path = path;
    e.min_ts = info.min_ts;
    e.max_ts = info.max_ts;
    e.rows = info.rows;
    e.label_keys = info.label_keys;
    e.token_filter = info.token_filter;
    e.trigram_filter = info.trigram_filter;
    groups_ += info.block_groups;
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
    // Rare ids, so group filters rule out most groups for some needles.
    if (rng() % 10 == 0) r.e.line += " id=rq-" + std::to_string(rng() % 40) + "x";
    return r;
  };
  // Files without filters, with segment filters, and with group filters of a
  // few blocks (the writer cuts blocks per stream, groups span streams).
  for (int f = 0; f < 12; f++) {
    std::vector<Row> rows;
    for (int i = 0; i < 300; i++) rows.push_back(make_row(f * 800));  // overlapping windows
    AddFile(rows, f % 3 == 0 ? -1 : f % 3 == 1 ? 0 : 1 + static_cast<int>(rng() % 60));
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
    if (rng() % 3 == 0) {
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
  AddFile(rows, 256);
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
TEST_F(EngineTest, NarrowWindowOnOneStreamReadsFewFrames) {
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
  AddFile(rows, 0);  // 2 x 157 blocks
  Engine engine(EngineOptions{}, &src_);
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
  // Header and schema, streams, the index, the block: 4 frames here, where
  // testing min_ts in the table rows read 19 (every frame of newer blocks).
  EXPECT_LE(storage::GetVfsStats().frames_decompressed - before, 8u);
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

}  // namespace
}  // namespace loge::query
