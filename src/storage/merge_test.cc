#include "storage/merge.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <random>
#include <set>
#include <tuple>

#include "io/file_system.h"
#include "storage/segment_reader.h"
#include "storage/segment_writer_v1.h"

namespace loge::storage {
namespace {

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/mergeXXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

using Row = std::tuple<std::string, int64_t, std::string, std::string>;  // labels json, ts, line, metadata

// Every row of a file, in file order, through the reader.
std::vector<Row> ReadAll(const std::string& path) {
  std::vector<Row> out;
  auto r = SegmentReader::Open(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return out;
  std::map<int64_t, std::string> streams;
  EXPECT_TRUE((*r)->ForEachStream([&](int64_t id, std::string_view json) { streams[id] = json; }).ok());
  for (const auto& [id, json] : streams) {
    auto hs = (*r)->StreamBlocks(id);
    EXPECT_TRUE(hs.ok());
    int64_t last = INT64_MIN;
    for (const auto& h : *hs) {
      auto b = (*r)->ReadBlock(h.id);
      EXPECT_TRUE(b.ok());
      EXPECT_GE(b->min_ts, last);  // a stream's blocks do not overlap after a merge
      last = b->max_ts;
      auto es = BlockEntries(*b);
      EXPECT_TRUE(es.ok());
      for (auto& e : *es) out.emplace_back(json, e.ts, e.line, e.metadata);
    }
  }
  return out;
}

// Random inputs — both formats, overlapping and disjoint time ranges, exact
// duplicates across and within files, lines with newlines and metadata —
// merge into one file holding every distinct row once, streams in order,
// each stream in time order, with filters that find every planted needle.
TEST(MergeFiles, KeepsEveryDistinctRowOnceInOrder) {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 12; round++) {
    SCOPED_TRACE(round);
    const std::string dir = TempDir();
    std::vector<std::string> inputs;
    std::vector<BlockIdKeysPtr> input_keys;  // as flush files keep them, for some inputs
    std::multiset<Row> all;
    const int files = 1 + static_cast<int>(rng() % 6);
    for (int f = 0; f < files; f++) {
      std::map<Labels, std::vector<Entry>> by;
      const int n = static_cast<int>(rng() % 900);
      const int64_t base = rng() % 3 == 0 ? 0 : f * 10000;  // some files overlap in time
      for (int i = 0; i < n; i++) {
        Labels l = {{"app", "a" + std::to_string(rng() % 4)}};
        Entry e;
        e.ts = base + static_cast<int64_t>(rng() % 5000);
        e.line = "line " + std::to_string(rng() % 50);
        if (rng() % 50 == 0) e.line += "\nsecond";
        if (rng() % 40 == 0) e.line += " trace=4bf92f3577b34da6a3ce929d0e0e" + std::to_string(1000 + rng() % 100);
        if (rng() % 20 == 0) e.metadata = "{\"k\":\"" + std::to_string(rng() % 3) + "\"}";
        by[l].push_back(e);
        if (rng() % 10 == 0) by[l].push_back(e);  // an exact duplicate in the same file
      }
      const std::string path = dir + "/in" + std::to_string(f) + ".sqlite.zst";
      SegmentInfo info;
      if (rng() % 3 == 0) {
        SegmentWriterV1 w;
        for (auto& [l, es] : by) {
          std::stable_sort(es.begin(), es.end(), [](const Entry& a, const Entry& b) { return a.ts < b.ts; });
          ASSERT_TRUE(w.AddStream(l, es).ok());
        }
        auto image = w.Finish(&info);
        ASSERT_TRUE(image.ok());
        ASSERT_TRUE(WriteV1File(io::DefaultFileSystem(), path, *image).ok());
      } else {
        SegmentWriterOptions wo;
        wo.group_lines = rng() % 2 ? 64 : 0;
        wo.trigram_filters = rng() % 2;
        wo.keep_block_id_keys = rng() % 2;
        SegmentWriter w(wo);
        for (auto& [l, es] : by) {
          std::stable_sort(es.begin(), es.end(), [](const Entry& a, const Entry& b) { return a.ts < b.ts; });
          ASSERT_TRUE(w.AddStream(l, es).ok());
        }
        ASSERT_TRUE(w.WriteFile(io::DefaultFileSystem(), path, 1, &info).ok());
      }
      for (const auto& [l, es] : by) {
        for (const auto& e : es) all.emplace(LabelsToJson(l), e.ts, e.line, e.metadata);
      }
      inputs.push_back(path);
      input_keys.push_back(info.block_id_keys);
    }
    MergeOptions mo;
    mo.output_path = dir + "/out.sqlite.zst";
    mo.scratch_path = dir + "/out.sqlite.zst.scratch.tmp";
    mo.group_lines = 100;
    mo.input_id_keys = input_keys;  // reused keys must find every id as extracted ones do
    mo.meta = {{"sources", "x"}};
    MergeStats ms;
    auto info = MergeFiles(inputs, mo, &ms);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_FALSE(io::DefaultFileSystem()->Exists(mo.scratch_path));
    const std::set<Row> distinct(all.begin(), all.end());
    // Writers keep a duplicate within a stream of one file once; the merge
    // drops those across files.
    EXPECT_LE(ms.rows_in, all.size());
    EXPECT_EQ(ms.rows_in - ms.rows_dropped, distinct.size());
    EXPECT_EQ(info->rows, distinct.size());
    auto got = ReadAll(mo.output_path);
    ASSERT_EQ(got.size(), distinct.size());
    EXPECT_EQ(std::set<Row>(got.begin(), got.end()), distinct);
    // Streams in label order, rows of a stream in time order.
    for (size_t i = 1; i < got.size(); i++) {
      const auto& [la, ta, _a, _b] = got[i - 1];
      const auto& [lb, tb, _c, _d] = got[i];
      EXPECT_TRUE(la < lb || (la == lb && ta <= tb)) << i;
    }
    // The filters find every id that is there.
    if (info->rows > 0) {
      ASSERT_TRUE(info->filters);
      for (const auto& [l, ts, line, m] : distinct) {
        size_t at = line.find("trace=");
        if (at == std::string::npos) continue;
        UsableKeys u = UsableKeysFor(*info->filters, {{KeysForNeedle2(line.substr(at + 6))}});
        bool found = false;
        for (size_t g : CandidateGroups(*info->filters, u, ts, ts)) found |= info->filters->groups[g].n > 0;
        EXPECT_TRUE(found) << line;
      }
    }
  }
}

// Writes each of `files` as a format-2 file of one stream {app="x"} in dir;
// returns their paths.
std::vector<std::string> WriteOneStreamFiles(const std::string& dir, const std::vector<std::vector<Entry>>& files) {
  std::vector<std::string> paths;
  for (size_t f = 0; f < files.size(); f++) {
    SegmentWriter w;
    EXPECT_TRUE(w.AddStream({{"app", "x"}}, files[f]).ok());
    SegmentInfo info;
    paths.push_back(dir + "/f" + std::to_string(f) + ".sqlite.zst");
    EXPECT_TRUE(w.WriteFile(io::DefaultFileSystem(), paths.back(), 1, &info).ok());
  }
  return paths;
}

// Merge options writing dir/out.sqlite.zst.
MergeOptions OutputIn(const std::string& dir) {
  MergeOptions mo;
  mo.output_path = dir + "/out.sqlite.zst";
  mo.scratch_path = dir + "/scratch.tmp";
  return mo;
}

TEST(MergeFiles, CopiesBlocksThatDoNotOverlapWithoutDecodingThem) {
  const std::string dir = TempDir();
  std::vector<std::vector<Entry>> files(4);
  for (int f = 0; f < 4; f++) {
    for (int i = 0; i < 1000; i++) files[f].push_back({f * 1000 + i, "row " + std::to_string(i), ""});
  }
  const std::vector<std::string> inputs = WriteOneStreamFiles(dir, files);
  const MergeOptions mo = OutputIn(dir);
  MergeStats ms;
  auto info = MergeFiles(inputs, mo, &ms);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->rows, 4000u);
  EXPECT_EQ(ms.blocks_decoded, 0u);
  // Blocks are joined back to full size: 4000 rows in 16 blocks of 250 or so.
  auto r = SegmentReader::Open(mo.output_path);
  ASSERT_TRUE(r.ok());
  auto hs = (*r)->StreamBlocks(1);
  ASSERT_TRUE(hs.ok());
  EXPECT_EQ(hs->size(), (4000 + kBlockMaxLines - 1) / kBlockMaxLines);
}

// A shipper's retry stores a batch again in a later file: the copy overlaps
// blocks the merge took long before (not only the last one it holds), and is
// still dropped, whole or in part.
TEST(MergeFiles, DropsARetriedBatchThatOverlapsBlocksTakenEarlier) {
  const std::string dir = TempDir();
  auto rows = [](int64_t from, int n) {
    std::vector<Entry> es;
    for (int i = 0; i < n; i++) es.push_back({from + i, "row " + std::to_string(from + i), ""});
    return es;
  };
  const std::vector<std::vector<Entry>> files = {
      rows(0, 1000), rows(1000, 1000),  // two batches: four blocks each
      rows(1000, 1000),                 // the second one retried
      rows(1300, 400),                  // and a part of it once more
      rows(2000, 10)};                  // then new rows
  const MergeOptions mo = OutputIn(dir);
  MergeStats ms;
  auto info = MergeFiles(WriteOneStreamFiles(dir, files), mo, &ms);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->rows, 2010u);
  EXPECT_EQ(ms.rows_dropped, 1400u);
  auto got = ReadAll(mo.output_path);  // also checks that blocks do not overlap
  ASSERT_EQ(got.size(), 2010u);
  for (size_t i = 0; i < got.size(); i++) EXPECT_EQ(std::get<1>(got[i]), static_cast<int64_t>(i));
}

// MergeOptions::drop: the rows it names are left out of the output (and
// only blocks a window overlaps are decoded); a stream left empty is not
// written, and when nothing is left no file is.
TEST(MergeFiles, DropLeavesOutTheRowsItNamesAndWritesNothingWhenNoneIsLeft) {
  const std::string dir = TempDir();
  std::vector<Entry> web, api;
  for (int i = 0; i < 1000; i++) {
    web.push_back({i, i == 500 ? std::string("password=hunter2") : "web row " + std::to_string(i), ""});
    api.push_back({i, "api row " + std::to_string(i), ""});
  }
  SegmentWriter w;
  ASSERT_TRUE(w.AddStream({{"app", "api"}}, api).ok());
  ASSERT_TRUE(w.AddStream({{"app", "web"}}, web).ok());
  SegmentInfo in;
  const std::string input = dir + "/in.sqlite.zst";
  ASSERT_TRUE(w.WriteFile(io::DefaultFileSystem(), input, 1, &in).ok());
  auto drop_where = [](std::string stream, std::string needle) {
    return [stream, needle](std::string_view labels_json) {
      StreamRowDrop d;
      if (labels_json.find(stream) == std::string_view::npos) return d;
      d.windows = {{400, 600}};
      d.drops = [needle](int64_t ts, std::string_view line) {
        return ts >= 400 && ts <= 600 && line.find(needle) != std::string_view::npos;
      };
      return d;
    };
  };
  MergeOptions mo;
  mo.output_path = dir + "/out.sqlite.zst";
  mo.scratch_path = dir + "/scratch.tmp";
  mo.drop = drop_where("\"web\"", "hunter2");
  MergeStats ms;
  auto info = MergeFiles({input}, mo, &ms);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->rows, 1999u);
  EXPECT_EQ(ms.rows_deleted, 1u);
  EXPECT_EQ(ms.bytes_deleted, std::string("password=hunter2").size());  // the deleted line's text
  EXPECT_LT(ms.blocks_decoded + 0, 4u);  // copied blocks are not decoded
  const auto rows = ReadAll(mo.output_path);
  EXPECT_EQ(rows.size(), 1999u);
  for (const auto& r : rows) EXPECT_NE(std::get<2>(r), "password=hunter2");

  // Every row of every stream: no file at all.
  MergeOptions all = mo;
  all.output_path = dir + "/none.sqlite.zst";
  all.drop = [](std::string_view) {
    StreamRowDrop d;
    d.windows = {{INT64_MIN, INT64_MAX}};
    d.drops = [](int64_t, std::string_view) { return true; };
    return d;
  };
  MergeStats ms2;
  auto none = MergeFiles({input}, all, &ms2);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->rows, 0u);
  EXPECT_EQ(ms2.rows_deleted, 2000u);
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(all.output_path));
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(all.scratch_path));
}

// Flush files keep their blocks' id keys; a merge of them builds the same
// filters from those as from the text, and really takes them (a key only
// the kept set holds ends up in the output's filter).
TEST(MergeFiles, ReusesTheIdKeysItsInputsWereWrittenWith) {
  const std::string dir = TempDir();
  std::vector<std::string> inputs;
  std::vector<BlockIdKeysPtr> keys;
  for (int f = 0; f < 3; f++) {
    std::vector<Entry> es;
    // Whole blocks (kBlockMaxLines rows) join without a split, so the
    // reused keys are exactly the extracted ones.
    for (int i = 0; i < static_cast<int>(kBlockMaxLines); i++) {
      es.push_back({f * 1000 + i, "req id=Req" + std::to_string(f) + "x" + std::to_string(100000 + i) + "abcdefgh done", ""});
    }
    SegmentWriterOptions wo;
    wo.group_lines = 128;
    wo.trigram_filters = false;
    wo.keep_block_id_keys = true;
    SegmentWriter w(wo);
    ASSERT_TRUE(w.AddStream({{"app", "x"}}, es).ok());
    SegmentInfo info;
    inputs.push_back(dir + "/f" + std::to_string(f) + ".sqlite.zst");
    ASSERT_TRUE(w.WriteFile(io::DefaultFileSystem(), inputs.back(), 1, &info).ok());
    ASSERT_TRUE(info.block_id_keys);
    EXPECT_FALSE(info.block_id_keys->block_ids.empty());
    keys.push_back(info.block_id_keys);
  }
  auto merge = [&](const std::string& name, std::vector<BlockIdKeysPtr> with, MergeStats* ms) {
    MergeOptions mo;
    mo.output_path = dir + "/" + name;
    mo.scratch_path = dir + "/" + name + ".scratch.tmp";
    mo.group_lines = 256;
    mo.input_id_keys = std::move(with);
    auto info = MergeFiles(inputs, mo, ms);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return info.ok() ? *info : SegmentInfo();
  };
  MergeStats extracted_stats, reused_stats;
  const SegmentInfo extracted = merge("a.sqlite.zst", {}, &extracted_stats);
  const SegmentInfo reused = merge("b.sqlite.zst", keys, &reused_stats);
  EXPECT_EQ(extracted_stats.blocks_keys_reused, 0u);
  EXPECT_EQ(reused_stats.blocks_keys_reused, reused_stats.blocks_in);
  ASSERT_TRUE(extracted.filters && reused.filters);
  EXPECT_TRUE(reused.filters->Serialize() == extracted.filters->Serialize());

  // A key planted in the kept set of one block shows up in the output.
  auto planted = std::make_shared<BlockIdKeys>(*keys[0]);
  const uint64_t fake = kIdKeyTag | 0x123456789abcULL;
  planted->keys.insert(planted->keys.begin() + static_cast<ptrdiff_t>(planted->offsets[1]), fake);
  for (size_t i = 1; i < planted->offsets.size(); i++) planted->offsets[i]++;
  MergeStats ms;
  const SegmentInfo out = merge("c.sqlite.zst", {planted, keys[1], keys[2]}, &ms);
  ASSERT_TRUE(out.filters);
  UsableKeys u;
  u.filters = {{{fake}}};
  u.prunes = true;
  EXPECT_FALSE(CandidateGroups(*out.filters, u, INT64_MIN, INT64_MAX).empty());
  EXPECT_TRUE(CandidateGroups(*extracted.filters, u, INT64_MIN, INT64_MAX).empty());
}

TEST(MergeFiles, AnUnreadableInputLeavesNothingBehind) {
  const std::string dir = TempDir();
  ASSERT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), dir + "/bad.sqlite.zst", "garbage").ok());
  MergeOptions mo;
  mo.output_path = dir + "/out.sqlite.zst";
  mo.scratch_path = dir + "/scratch.tmp";
  EXPECT_FALSE(MergeFiles({dir + "/bad.sqlite.zst"}, mo).ok());
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(mo.output_path));
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(mo.output_path + ".tmp"));
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(mo.scratch_path));
}

}  // namespace
}  // namespace loge::storage
