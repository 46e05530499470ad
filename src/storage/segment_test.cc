#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "io/file_system.h"
#include "storage/block.h"
#include "storage/fuse_filter.h"
#include "storage/segment_reader.h"
#include "storage/segment_writer.h"
#include "storage/terms.h"

namespace loge::storage {
namespace {

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/segtestXXXXXX";
  char* d = mkdtemp(tmpl.data());
  EXPECT_NE(d, nullptr);
  return tmpl;
}

TEST(Block, RoundTripsLinesWithNewlinesAndEmptyLines) {
  std::vector<Entry> es = {{-5, "first", ""}, {10, "", ""}, {10, "a\nb", "{\"k\":\"v\"}"}, {1LL << 62, "last", ""}};
  EncodedBlock b = EncodeBlock(es.data(), es.data() + es.size());
  EXPECT_EQ(b.min_ts, -5);
  EXPECT_EQ(b.max_ts, 1LL << 62);
  std::vector<RowView> rows;
  ASSERT_TRUE(DecodeBlock(b.ts, b.lens, b.lines, b.n, &rows).ok());
  ASSERT_EQ(rows.size(), es.size());
  for (size_t i = 0; i < es.size(); i++) {
    EXPECT_EQ(rows[i].ts, es[i].ts);
    EXPECT_EQ(rows[i].line, es[i].line);
  }
  auto meta = DecodeBlockMeta(b.meta, b.n);
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ((*meta)[0], "");
  EXPECT_EQ((*meta)[2], "{\"k\":\"v\"}");
}

TEST(Block, DecodeRejectsMismatchedColumns) {
  std::vector<Entry> es = {{1, "abc", ""}, {2, "de", ""}};
  EncodedBlock b = EncodeBlock(es.data(), es.data() + es.size());
  std::vector<RowView> rows;
  EXPECT_FALSE(DecodeBlock(b.ts, b.lens, b.lines, 3, &rows).ok());
  EXPECT_FALSE(DecodeBlock(b.ts, b.lens, b.lines.substr(1), 2, &rows).ok());
  EXPECT_FALSE(DecodeBlock(b.ts, b.lens, b.lines + "x", 2, &rows).ok());
  EXPECT_FALSE(DecodeBlock(b.ts.substr(0, 1), b.lens, b.lines, 2, &rows).ok());
  EXPECT_FALSE(DecodeBlockMeta("{}", 2).ok());
  EXPECT_FALSE(DecodeBlockMeta("[null]", 2).ok());
}

// Group filters hold each group's rare trigrams; the file's common-trigram
// filter holds those in more than 1/8 of the groups, which no group filter has.
TEST(Segment, GroupFiltersKeepRareTrigramsAndListCommonOnes) {
  std::string dir = TempDir();
  SegmentWriter w;
  w.EnableFilters(100);
  std::vector<Entry> es;
  for (int i = 0; i < 2000; i++) {
    std::string line = "GET /item status=200";
    if (i == 1234) line += " Zebra7quux";
    es.push_back({i, line, ""});
  }
  ASSERT_TRUE(w.AddStream({{"app", "web"}}, es).ok());
  SegmentInfo info;
  auto image = w.Finish(&info);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(info.block_groups, 8u);  // 2000 lines in blocks of 256, >= 100 lines per group
  EXPECT_FALSE(info.token_filter.empty());
  EXPECT_FALSE(info.trigram_filter.empty());
  std::string path = dir + "/g.sqlite.zst";
  ASSERT_TRUE(WriteSegmentFile(io::DefaultFileSystem(), path, *image, {.level = 1}).ok());
  auto r = SegmentReader::Open(path);
  ASSERT_TRUE(r.ok());
  auto common = (*r)->ReadCommonTrigrams();
  ASSERT_TRUE(common.ok()) << common.status().ToString();
  auto groups = (*r)->ReadBlockGroups();
  ASSERT_TRUE(groups.ok());
  ASSERT_EQ(groups->size(), 8u);
  EXPECT_TRUE(FuseFilter::MayContainSerialized(*common, TrigramKey("GET")));
  EXPECT_FALSE(FuseFilter::MayContainSerialized(*common, TrigramKey("a7q")));
  int holding = 0;
  for (const auto& g : *groups) {
    bool has = FuseFilter::MayContainSerialized(g.trigrams, TrigramKey("a7q"));
    holding += has;
    if (g.first_block <= 5 && g.last_block >= 5) {
      EXPECT_TRUE(has);  // line 1234 is in block 5 (ids start at 1)
    }
    EXPECT_LE(g.min_ts, g.max_ts);
  }
  EXPECT_LE(holding, 2);  // its own group, and a false positive at most

  // Without groups there is no table and no common filter.
  SegmentWriter plain;
  plain.EnableFilters(0);
  ASSERT_TRUE(plain.AddStream({{"app", "web"}}, es).ok());
  auto image2 = plain.Finish(&info);
  ASSERT_TRUE(image2.ok());
  EXPECT_EQ(info.block_groups, 0u);
  ASSERT_TRUE(WriteSegmentFile(io::DefaultFileSystem(), path + "2", *image2, {.level = 1}).ok());
  auto r2 = SegmentReader::Open(path + "2");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ((*r2)->ReadCommonTrigrams().status().code(), Code::kNotFound);
  auto none = (*r2)->ReadBlockGroups();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(Segment, WrittenFileReadsBackThroughTheVfs) {
  std::string dir = TempDir();
  SegmentWriter w;
  std::vector<Entry> web, api;
  for (int i = 0; i < 1000; i++) web.push_back({1000 + i, "GET /item/" + std::to_string(i), ""});
  for (int i = 0; i < 10; i++) api.push_back({5000 + i, "api call " + std::to_string(i), i == 3 ? "{\"t\":\"x\"}" : ""});
  ASSERT_TRUE(w.AddStream({{"app", "web"}}, web).ok());
  ASSERT_TRUE(w.AddStream({{"app", "api"}, {"env", "prod"}}, api).ok());
  w.SetMeta("custom", "42");
  SegmentInfo info;
  auto image = w.Finish(&info);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(info.rows, 1010u);
  EXPECT_EQ(info.min_ts, 1000);
  EXPECT_EQ(info.max_ts, 5009);
  EXPECT_EQ(info.label_keys, (std::vector<std::string>{"app", "env"}));
  std::string path = dir + "/seg.sqlite.zst";
  auto bytes = WriteSegmentFile(io::DefaultFileSystem(), path, *image, {.level = 3, .frame_size = 4096, .checksums = true, .threads = 2});
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(path + ".tmp"));

  auto r = SegmentReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto ri = (*r)->ReadInfo();
  ASSERT_TRUE(ri.ok()) << ri.status().ToString();
  EXPECT_EQ(ri->rows, 1010u);
  EXPECT_EQ(ri->label_keys, info.label_keys);
  EXPECT_EQ(*(*r)->ReadMeta("custom"), "42");
  EXPECT_EQ((*r)->ReadMeta("absent").status().code(), Code::kNotFound);
  int streams = 0;
  ASSERT_TRUE((*r)->ForEachStream([&](int64_t, std::string_view) { streams++; }).ok());
  EXPECT_EQ(streams, 2);

  // Newest first, and only blocks overlapping the window.
  std::vector<int64_t> maxes;
  uint64_t rows = 0;
  ASSERT_TRUE((*r)->ScanBlocksNewestFirst(1300, 1400, [&](const BlockCursor& b) {
                     maxes.push_back(b.max_ts());
                     rows += b.n();
                     return true;
                   }).ok());
  ASSERT_FALSE(maxes.empty());
  EXPECT_TRUE(std::is_sorted(maxes.rbegin(), maxes.rend()));
  for (int64_t m : maxes) EXPECT_GE(m, 1300);
  EXPECT_EQ(rows, 256u);  // one block of 256 lines holds 1256..1511
}

TEST(Segment, DecompressedFileOpensInTheSqliteShell) {
  std::string dir = TempDir();
  SegmentWriter w;
  std::vector<Entry> es;
  for (int i = 0; i < 300; i++) es.push_back({i, "line " + std::to_string(i), ""});
  ASSERT_TRUE(w.AddStream({{"app", "x"}}, es).ok());
  SegmentInfo info;
  auto image = w.Finish(&info);
  ASSERT_TRUE(image.ok());
  std::string path = dir + "/f.sqlite.zst";
  ASSERT_TRUE(WriteSegmentFile(io::DefaultFileSystem(), path, *image, {.level = 1}).ok());
  std::string cmd = "zstd -q -d -f " + path + " -o " + dir + "/f.sqlite && sqlite3 " + dir +
                    "/f.sqlite 'SELECT sum(n) FROM blocks; SELECT labels FROM streams;' > " + dir + "/out.txt";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto out = io::ReadFileToString(io::DefaultFileSystem(), dir + "/out.txt");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "300\n{\"app\":\"x\"}\n");
}

TEST(Segment, OpenMissingFileIsNotFound) {
  auto r = SegmentReader::Open(TempDir() + "/nope.sqlite.zst");
  EXPECT_EQ(r.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace loge::storage
