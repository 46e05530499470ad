#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "io/file_system.h"
#include "storage/block.h"
#include "storage/fuse_filter.h"
#include "storage/keys.h"
#include "storage/segment_reader.h"
#include "storage/segment_writer.h"
#include "storage/segment_writer_v1.h"
#include "storage/terms.h"

namespace loge::storage {
namespace {

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/segtestXXXXXX";
  char* d = mkdtemp(tmpl.data());
  EXPECT_NE(d, nullptr);
  return tmpl;
}

std::vector<const Entry*> Ptrs(const std::vector<Entry>& es) {
  std::vector<const Entry*> p;
  for (const auto& e : es) p.push_back(&e);
  return p;
}

void ExpectRows(const Block& b, const std::vector<Entry>& want) {
  std::vector<RowView> rows;
  ASSERT_TRUE(DecodeBlock2(b.ts, b.lines, b.nl, b.n, &rows).ok());
  ASSERT_EQ(rows.size(), want.size());
  for (size_t i = 0; i < want.size(); i++) {
    EXPECT_EQ(rows[i].ts, want[i].ts) << i;
    EXPECT_EQ(rows[i].line, want[i].line) << i;
  }
  auto meta = DecodeBlockMeta(b.meta, b.n);
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  for (size_t i = 0; i < want.size(); i++) EXPECT_EQ((*meta)[i], want[i].metadata) << i;
}

TEST(Block, RoundTripsLinesWithNewlinesAndEmptyLines) {
  std::vector<Entry> es = {{-5, "first", ""},      {10, "", ""},   {10, "a\nb", "{\"k\":\"v\"}"},
                           {11, "\n\nx\n", ""},    {12, "\n", ""}, {1LL << 62, "last", ""}};
  auto p = Ptrs(es);
  Block b = EncodeBlock2(p.data(), p.data() + p.size());
  EXPECT_EQ(b.min_ts, -5);
  EXPECT_EQ(b.max_ts, 1LL << 62);
  EXPECT_FALSE(b.nl.empty());
  EXPECT_EQ(b.bytes, 5u + 0 + 3 + 4 + 1 + 4);
  ExpectRows(b, es);
}

TEST(Block, PlainLinesNeedNoNlColumn) {
  std::vector<Entry> es = {{1, "a", ""}, {2, "bb", ""}};
  auto p = Ptrs(es);
  Block b = EncodeBlock2(p.data(), p.data() + p.size());
  EXPECT_TRUE(b.nl.empty());
  EXPECT_TRUE(b.meta.empty());
  EXPECT_EQ(b.lines, "a\nbb");
}

TEST(Block, DecodeRejectsMismatchedColumns) {
  std::vector<Entry> es = {{1, "abc", ""}, {2, "de", ""}};
  auto p = Ptrs(es);
  Block b = EncodeBlock2(p.data(), p.data() + p.size());
  std::vector<RowView> rows;
  EXPECT_FALSE(DecodeBlock2(b.ts, b.lines, b.nl, 3, &rows).ok());
  EXPECT_FALSE(DecodeBlock2(b.ts, b.lines + "\nx", b.nl, 2, &rows).ok());
  EXPECT_FALSE(DecodeBlock2(b.ts.substr(0, 1), b.lines, b.nl, 2, &rows).ok());
  EXPECT_FALSE(DecodeBlock2(b.ts, b.lines, std::string("\x00\x01", 2), 2, &rows).ok());  // line 0 has no '\n'
  EXPECT_FALSE(DecodeBlock2(b.ts, b.lines, "\x05", 2, &rows).ok());  // truncated pair
  EXPECT_FALSE(DecodeBlockMeta("{}", 2).ok());
  EXPECT_FALSE(DecodeBlockMeta("[null]", 2).ok());
  // Format 1's decoder keeps its checks too.
  EncodedBlock v1 = EncodeBlock(p.data(), p.data() + p.size());
  EXPECT_TRUE(DecodeBlock(v1.ts, v1.lens, v1.lines, 2, &rows).ok());
  EXPECT_FALSE(DecodeBlock(v1.ts, v1.lens, v1.lines + "x", 2, &rows).ok());
}

// Random blocks, cut and joined back at random points, decode to the same
// rows: AppendBlock and TakeFront work on the encoded columns only.
TEST(Block, AppendAndTakeFrontKeepEveryRow) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 300; round++) {
    SCOPED_TRACE(round);
    std::vector<Entry> es;
    int64_t ts = static_cast<int64_t>(rng() % 1000) - 500;
    const size_t n = 1 + rng() % 40;
    const bool nl = rng() % 4 == 0, meta = rng() % 4 == 0;
    for (size_t i = 0; i < n; i++) {
      ts += static_cast<int64_t>(rng() % 3);
      std::string line(rng() % 30, 'a' + static_cast<char>(i % 26));
      if (nl && rng() % 3 == 0) line.insert(line.size() / 2, "\n");
      // Values with the JSON array's own punctuation, escaped: TakeFront
      // cuts the meta column by scanning it.
      std::string m = meta && rng() % 2 ? R"({"i":")" + std::to_string(i) + R"(","s":"a,b]}{[\"\\"})" : "";
      es.push_back({ts, line, m});
    }
    auto p = Ptrs(es);
    // Cut into 1-3 pieces, join them, take fronts of random sizes.
    size_t cut1 = rng() % (n + 1), cut2 = cut1 + rng() % (n - cut1 + 1);
    Block a = EncodeBlock2(p.data(), p.data() + cut1);
    Block b = EncodeBlock2(p.data() + cut1, p.data() + cut2);
    Block c = EncodeBlock2(p.data() + cut2, p.data() + n);
    Block all;
    AppendBlock(&all, a);
    AppendBlock(&all, b);
    AppendBlock(&all, c);
    ASSERT_EQ(all.n, n);
    ExpectRows(all, es);
    std::vector<Entry> got;
    while (all.n > 0) {
      Block front = TakeFront(&all, 1 + static_cast<uint32_t>(rng() % 10), 1 + rng() % 100);
      ASSERT_GT(front.n, 0u);
      std::vector<Entry> part(es.begin() + static_cast<long>(got.size()),
                              es.begin() + static_cast<long>(got.size() + front.n));
      ExpectRows(front, part);
      EXPECT_EQ(front.min_ts, part.front().ts);
      EXPECT_EQ(front.max_ts, part.back().ts);
      got.insert(got.end(), part.begin(), part.end());
    }
    EXPECT_EQ(got.size(), n);
  }
}

// The POSIX file system, except that a file's writes fail with ENOSPC once
// it holds `room` bytes (the part that fits is written, as a short write).
class FullDisk final : public io::FileSystem {
 public:
  explicit FullDisk(uint64_t room) : room_(room) {}
  Result<std::unique_ptr<io::WritableFile>> NewWritableFile(const std::string& path, bool append) override {
    LOGE_ASSIGN_OR_RETURN(auto f, base_->NewWritableFile(path, append));
    return std::unique_ptr<io::WritableFile>(new File(std::move(f), room_));
  }
  Result<std::unique_ptr<io::RandomAccessFile>> OpenRandomAccess(const std::string& p) override {
    return base_->OpenRandomAccess(p);
  }
  Status Rename(const std::string& a, const std::string& b) override { return base_->Rename(a, b); }
  Status Remove(const std::string& p) override { return base_->Remove(p); }
  Status SyncDir(const std::string& d) override { return base_->SyncDir(d); }
  Status CreateDirs(const std::string& d) override { return base_->CreateDirs(d); }
  Result<std::vector<std::string>> ListDir(const std::string& d) override { return base_->ListDir(d); }
  Result<uint64_t> FileSize(const std::string& p) override { return base_->FileSize(p); }
  bool Exists(const std::string& p) override { return base_->Exists(p); }

 private:
  class File final : public io::WritableFile {
   public:
    File(std::unique_ptr<io::WritableFile> base, uint64_t room) : base_(std::move(base)), room_(room) {}
    Status Append(std::string_view data) override {
      if (base_->Size() + data.size() <= room_) return base_->Append(data);
      (void)base_->Append(data.substr(0, room_ - std::min(room_, base_->Size())));
      return Status::IOError("write: No space left on device (injected)");
    }
    Status Sync() override { return base_->Sync(); }
    Status Close() override { return base_->Close(); }
    uint64_t Size() const override { return base_->Size(); }

   private:
    std::unique_ptr<io::WritableFile> base_;
    uint64_t room_;
  };
  io::FileSystem* base_ = io::DefaultFileSystem();
  uint64_t room_;
};

// A flush or merge that runs out of disk leaves no partial .tmp behind, and
// a retry once there is room writes the file.
TEST(Segment, WriteThatRunsOutOfDiskLeavesNoTempFile) {
  const std::string dir = TempDir();
  const std::string path = dir + "/flush-0-1.sqlite.zst";
  auto write = [&](io::FileSystem* fs) {
    SegmentWriter w;
    std::vector<Entry> entries;
    for (int i = 0; i < 2000; i++) entries.push_back({i, "line " + std::to_string(i * 7919), ""});
    EXPECT_TRUE(w.AddStream({{"app", "a"}}, entries).ok());
    SegmentInfo info;
    return w.WriteFile(fs, path, 1, &info);
  };
  FullDisk full(100);
  Status st = write(&full);
  EXPECT_EQ(st.code(), Code::kIOError) << st.ToString();
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(path + ".tmp"));
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(path));
  EXPECT_TRUE(write(io::DefaultFileSystem()).ok());
  EXPECT_TRUE(io::DefaultFileSystem()->Exists(path));
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
  std::string path = dir + "/seg.sqlite.zst";
  ASSERT_TRUE(w.WriteFile(io::DefaultFileSystem(), path, 3, &info).ok());
  EXPECT_EQ(info.rows, 1010u);
  EXPECT_EQ(info.min_ts, 1000);
  EXPECT_EQ(info.max_ts, 5009);
  EXPECT_EQ(info.label_keys, (std::vector<std::string>{"app", "env"}));
  EXPECT_EQ(info.format_version, 3);
  EXPECT_GT(info.bytes, 0u);
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(path + ".tmp"));

  auto r = SegmentReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->format_version(), 3);
  auto ri = (*r)->ReadInfo();
  ASSERT_TRUE(ri.ok()) << ri.status().ToString();
  EXPECT_EQ(ri->rows, 1010u);
  EXPECT_EQ(ri->line_bytes, info.line_bytes);
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

  // Rows and metadata decode through the cursor.
  std::vector<std::string> metas;
  ASSERT_TRUE((*r)->ScanBlocksNewestFirst(5000, 6000, [&](const BlockCursor& b) {
                     std::vector<RowView> rv;
                     EXPECT_TRUE(b.Rows(&rv).ok());
                     EXPECT_EQ(rv.size(), 10u);
                     EXPECT_TRUE(b.HasMetadata());
                     auto m = b.Metadata();
                     EXPECT_TRUE(m.ok());
                     if (m.ok()) metas = *m;
                     return true;
                   }).ok());
  ASSERT_EQ(metas.size(), 10u);
  EXPECT_EQ(metas[3], "{\"t\":\"x\"}");
  EXPECT_EQ(metas[4], "");
}

// The tail (every table but texts) sits after the text run, so reading the
// index and a block's header touches none of the text frames.
TEST(Segment, HeadersAndIndexesSitInTheTail) {
  std::string dir = TempDir();
  SegmentWriterOptions o;
  o.text_frame_bytes = 64 << 10;
  o.tail_frame_bytes = 64 << 10;
  SegmentWriter w(o);
  std::mt19937 rng(3);
  std::vector<Entry> es;
  for (int i = 0; i < 20000; i++) {
    std::string line = "line " + std::to_string(i) + " ";
    for (int k = 0; k < 60; k++) line.push_back(static_cast<char>('a' + rng() % 26));
    es.push_back({i, line, ""});
  }
  ASSERT_TRUE(w.AddStream({{"app", "x"}}, es).ok());
  SegmentInfo info;
  std::string path = dir + "/t.sqlite.zst";
  ASSERT_TRUE(w.WriteFile(io::DefaultFileSystem(), path, 1, &info).ok());
  auto image_cmd = "zstd -q -d -f " + path + " -o " + dir + "/t.sqlite";
  ASSERT_EQ(std::system(image_cmd.c_str()), 0);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir + "/t.sqlite").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  // dbstat: the last page of texts comes before the first non-root page of
  // blocks and of the indexes.
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT (SELECT max(pageno) FROM dbstat WHERE name = 'texts'), "
                               "(SELECT min(pageno) FROM dbstat WHERE name IN ('blocks', 'blocks_by_time', "
                               "'blocks_by_stream') AND pagetype != 'internal' AND pageno > 10)",
                               -1, &st, nullptr),
            SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 1) != SQLITE_NULL) {
    EXPECT_LT(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(Segment, GroupFiltersHoldRareKeysAndTheCommonOnesApart) {
  std::string dir = TempDir();
  SegmentWriterOptions o;
  o.group_lines = 100;
  SegmentWriter w(o);
  std::vector<Entry> es;
  for (int i = 0; i < 2000; i++) {
    std::string line = "GET /item status=200";
    if (i == 1234) line += " Zebra7quux trace=0af7651916cd43dd8448eb211c80319c";
    es.push_back({i, line, ""});
  }
  ASSERT_TRUE(w.AddStream({{"app", "web"}}, es).ok());
  SegmentInfo info;
  std::string path = dir + "/g.sqlite.zst";
  ASSERT_TRUE(w.WriteFile(io::DefaultFileSystem(), path, 1, &info).ok());
  ASSERT_TRUE(info.filters);
  EXPECT_EQ(info.filters->groups.size(), 8u);  // 2000 lines in blocks of 256, >= 100 lines per group
  auto r = SegmentReader::Open(path);
  ASSERT_TRUE(r.ok());
  auto f = (*r)->ReadFilters();
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(*f);
  EXPECT_EQ((*f)->Serialize(), info.filters->Serialize());  // what the catalog gets is what the file has
  const FileFilters& ff = **f;
  auto key = [](const char* t) { return TrigramKeyOf(TrigramIndex(reinterpret_cast<const unsigned char*>(t))); };
  EXPECT_TRUE(ff.CommonMayHold(key("GET")));
  EXPECT_FALSE(ff.CommonMayHold(key("a7q")));
  NeedleSet2 rare = {{KeysForNeedle2("ebra7qu")}};
  NeedleSet2 id = {{KeysForNeedle2("f7651916cd43dd8448eb211c")}};  // a cut id: only its id keys can tell
  ASSERT_FALSE(id[0][0].ids.empty());
  for (const auto& needles : {rare, id}) {
    UsableKeys u = UsableKeysFor(ff, needles);
    ASSERT_TRUE(u.prunes);
    auto c = CandidateGroups(ff, u, INT64_MIN, INT64_MAX);
    ASSERT_EQ(c.size(), 1u);  // block 5 (ids from 1) holds line 1234
    EXPECT_LE(ff.groups[c[0]].first_block, 5);
    EXPECT_GE(ff.groups[c[0]].last_block, 5);
  }
  // A needle of common trigrams only cannot rule any group out.
  EXPECT_FALSE(UsableKeysFor(ff, {{KeysForNeedle2("GET /item")}}).prunes);

  // Without group_lines there are no filters.
  SegmentWriter plain;
  ASSERT_TRUE(plain.AddStream({{"app", "web"}}, es).ok());
  ASSERT_TRUE(plain.WriteFile(io::DefaultFileSystem(), path + "2", 1, &info).ok());
  EXPECT_FALSE(info.filters);
  auto r2 = SegmentReader::Open(path + "2");
  ASSERT_TRUE(r2.ok());
  auto none = (*r2)->ReadFilters();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
}

TEST(Segment, DecompressedFileOpensInTheSqliteShell) {
  std::string dir = TempDir();
  SegmentWriter w;
  std::vector<Entry> es;
  for (int i = 0; i < 300; i++) es.push_back({i, "line " + std::to_string(i), ""});
  ASSERT_TRUE(w.AddStream({{"app", "x"}}, es).ok());
  SegmentInfo info;
  std::string path = dir + "/f.sqlite.zst";
  ASSERT_TRUE(w.WriteFile(io::DefaultFileSystem(), path, 1, &info).ok());
  std::string cmd = "zstd -q -d -f " + path + " -o " + dir + "/f.sqlite && sqlite3 " + dir +
                    "/f.sqlite 'SELECT sum(n) FROM blocks; SELECT labels FROM streams; "
                    "SELECT substr(lines, 1, 13) FROM logs LIMIT 1;' > " +
                    dir + "/out.txt";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto out = io::ReadFileToString(io::DefaultFileSystem(), dir + "/out.txt");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "300\n{\"app\":\"x\"}\nline 0\nline 1\n");
}

// Files of format 1, as earlier versions wrote them, read as they did.
TEST(Segment, Format1FilesStayReadable) {
  std::string dir = TempDir();
  SegmentWriterV1 w;
  w.EnableFilters(100);
  std::vector<Entry> es;
  for (int i = 0; i < 2000; i++) {
    std::string line = "GET /item status=200";
    if (i == 1234) line += " Zebra7quux";
    es.push_back({i, line, i == 7 ? "{\"k\":\"v\"}" : ""});
  }
  ASSERT_TRUE(w.AddStream({{"app", "web"}}, es).ok());
  SegmentInfo info;
  auto image = w.Finish(&info);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(w.TEST_groups(), 8u);
  std::string path = dir + "/g.sqlite.zst";
  ASSERT_TRUE(WriteV1File(io::DefaultFileSystem(), path, *image).ok());
  auto r = SegmentReader::Open(path);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->format_version(), 1);
  auto ri = (*r)->ReadInfo();
  ASSERT_TRUE(ri.ok());
  EXPECT_EQ(ri->rows, 2000u);
  EXPECT_FALSE(ri->token_filter.empty());  // whole-file filters come back for the catalog
  EXPECT_FALSE(ri->trigram_filter.empty());
  auto common = (*r)->ReadCommonTrigrams();
  ASSERT_TRUE(common.ok()) << common.status().ToString();
  auto groups = (*r)->ReadBlockGroups();
  ASSERT_TRUE(groups.ok());
  ASSERT_EQ(groups->size(), 8u);
  EXPECT_TRUE(FuseFilter::MayContainSerialized(*common, TrigramKey("GET")));
  EXPECT_FALSE(FuseFilter::MayContainSerialized(*common, TrigramKey("a7q")));
  // Rows, metadata and the merge path's re-encoding.
  uint64_t rows = 0;
  ASSERT_TRUE((*r)->ScanBlocksNewestFirst(INT64_MIN, INT64_MAX, [&](const BlockCursor& b) {
                     std::vector<RowView> rv;
                     EXPECT_TRUE(b.Rows(&rv).ok());
                     rows += rv.size();
                     auto enc = b.Encoded();
                     EXPECT_TRUE(enc.ok());
                     if (enc.ok()) {
                       EXPECT_EQ(enc->n, b.n());
                     }
                     if (b.min_ts() <= 7 && b.max_ts() >= 7) {
                       EXPECT_TRUE(b.HasMetadata());
                     }
                     return true;
                   }).ok());
  EXPECT_EQ(rows, 2000u);
}

TEST(Segment, NewerFormatIsRefused) {
  std::string dir = TempDir();
  SegmentWriter w;
  w.SetMeta("x", "y");
  std::vector<Entry> es = {{1, "a", ""}};
  ASSERT_TRUE(w.AddStream({{"app", "x"}}, es).ok());
  SegmentInfo info;
  auto image = w.Finish(&info);
  ASSERT_TRUE(image.ok());
  // Patch format_version to 99 through SQLite, then compress.
  std::string plain = dir + "/p.sqlite";
  ASSERT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), plain, *image).ok());
  std::string cmd = "sqlite3 " + plain + " \"UPDATE meta SET value = 99 WHERE key = 'format_version'\" && zstd -q -f " +
                    plain + " -o " + dir + "/p.sqlite.zst";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  // zstd's plain output is not seekable: the reader refuses it either way;
  // re-wrap it in the seekable format instead.
  auto bytes = io::ReadFileToString(io::DefaultFileSystem(), plain);
  ASSERT_TRUE(bytes.ok());
  ASSERT_TRUE(WriteV1File(io::DefaultFileSystem(), dir + "/n.sqlite.zst", *bytes).ok());
  auto r = SegmentReader::Open(dir + "/n.sqlite.zst");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("version 99"), std::string::npos) << r.status().ToString();
}

TEST(Segment, OpenMissingFileIsNotFound) {
  auto r = SegmentReader::Open(TempDir() + "/nope.sqlite.zst");
  EXPECT_EQ(r.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace loge::storage
