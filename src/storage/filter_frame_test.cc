// Format 3's filter frame: a skippable frame that zstd decoders pass over,
// holding the filters a local file maps instead of copying.
#include "storage/filter_frame.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zstd.h>

#include <random>
#include <string>
#include <vector>

#include "io/file_system.h"
#include "storage/seekable_zstd.h"
#include "storage/segment_reader.h"
#include "storage/segment_writer.h"
#include "storage/verify.h"

namespace loge::storage {
namespace {

std::string NewDir() {
  std::string tmpl = ::testing::TempDir() + "/filterframeXXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

std::string Hex(uint64_t n) {
  std::mt19937_64 r(n * 7919 + 11);
  std::string s;
  for (int i = 0; i < 32; i++) s.push_back("0123456789abcdef"[r() % 16]);
  return s;
}

// Decodes a whole file as `zstd -d` does: every zstd frame in turn,
// skippable ones (the filter frame, the seek table) passed over.
std::string PlainZstdDecode(const std::string& file) {
  ZSTD_DStream* ds = ZSTD_createDStream();
  ZSTD_initDStream(ds);
  std::string out;
  std::string buf(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer in{file.data(), file.size(), 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer o{buf.data(), buf.size(), 0};
    const size_t rc = ZSTD_decompressStream(ds, &o, &in);
    EXPECT_FALSE(ZSTD_isError(rc)) << ZSTD_getErrorName(rc);
    if (ZSTD_isError(rc)) break;
    out.append(buf.data(), o.pos);
  }
  ZSTD_freeDStream(ds);
  return out;
}

TEST(FilterFrame, ASkippableFrameIsFoundByItsReaderAndPassedOverByDecoders) {
  const std::string path = NewDir() + "/f.zst";
  std::string a(100000, 'a'), b(5000, 'b');
  {
    auto out = io::DefaultFileSystem()->NewWritableFile(path, false);
    ASSERT_TRUE(out.ok());
    SeekableWriter w(out->get(), 3);
    ASSERT_TRUE(w.AddFrame(a).ok());
    ASSERT_TRUE(w.AddFrame(b).ok());
    ASSERT_TRUE(w.AddSkippableFrame(kFilterFrameMagic, "payload!").ok());
    EXPECT_FALSE(w.AddSkippableFrame(0x184D2A5E, "x").ok());  // the seek table's magic
    EXPECT_FALSE(w.AddSkippableFrame(0x12345678, "x").ok());  // not a skippable magic
    ASSERT_TRUE(w.Finish().ok());
    ASSERT_TRUE((*out)->Close().ok());
  }
  auto file = io::ReadFileToString(io::DefaultFileSystem(), path);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(PlainZstdDecode(*file), a + b);

  auto r = SeekableReader::Open(std::move(io::DefaultFileSystem()->OpenRandomAccess(path)).value());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->DecompressedSize(), a.size() + b.size());
  EXPECT_EQ((*r)->FrameCount(), 3u);
  std::string frame;
  ASSERT_TRUE((*r)->ReadFrame(2, &frame).ok());  // decodes to nothing, checksum of nothing
  EXPECT_TRUE(frame.empty());
  auto where = (*r)->FindSkippable(kFilterFrameMagic);
  ASSERT_TRUE(where.ok()) << where.status().ToString();
  EXPECT_EQ(file->substr(where->offset, where->size), "payload!");
  EXPECT_EQ((*r)->FindSkippable(0x184D2A52).status().code(), Code::kNotFound);
}

// 4000 lines, a 32-hex id per 4 lines, in groups of 200 lines.
void Fill(SegmentWriter* w) {
  std::vector<Entry> es;
  for (int i = 0; i < 4000; i++) es.push_back({i, "GET /orders trace=" + Hex(i / 4) + " done", ""});
  ASSERT_TRUE(w->AddStream({{"app", "web"}}, es).ok());
}

// A format-3 file of Fill's lines, with filters.
void WriteFramed(const std::string& path, SegmentInfo* info) {
  SegmentWriterOptions o;
  o.group_lines = 200;
  SegmentWriter w(o);
  Fill(&w);
  ASSERT_TRUE(w.WriteFile(io::DefaultFileSystem(), path, 3, info).ok());
}

// The same file in format 3 (filters in the frame, mapped) and in format 2
// (filters in the image): equal filters, the image alone in what zstd -d
// gives back, and a needle prunes the same through either.
TEST(FilterFrame, Format3MapsTheFiltersFormat2Held) {
  const std::string dir = NewDir();
  FileFiltersPtr made[2], read[2];
  for (int v : {2, 3}) {
    SCOPED_TRACE(v);
    SegmentWriterOptions o;
    o.group_lines = 200;
    o.filter_frame = v == 3;
    SegmentWriter w(o);
    Fill(&w);
    SegmentInfo info;
    const std::string path = dir + "/v" + std::to_string(v) + ".sqlite.zst";
    ASSERT_TRUE(w.WriteFile(io::DefaultFileSystem(), path, 3, &info).ok());
    EXPECT_EQ(info.format_version, v);
    ASSERT_TRUE(info.filters);
    EXPECT_EQ(info.filters->mapped(), v == 3);  // the writer publishes its frame mapped, nothing read back
    made[v - 2] = info.filters;
    auto r = SegmentReader::Open(path);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)->format_version(), v);
    auto f = (*r)->ReadFilters();
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE(*f);
    EXPECT_EQ((*f)->mapped(), v == 3);
    EXPECT_EQ((*f)->HeapBytes(), v == 3 ? 0u : (*f)->Bytes());
    read[v - 2] = *f;
    // What zstd -d gives back is the SQLite image, and nothing more.
    auto file = io::ReadFileToString(io::DefaultFileSystem(), path);
    ASSERT_TRUE(file.ok());
    const std::string image = PlainZstdDecode(*file);
    auto seekable = SeekableReader::Open(std::move(io::DefaultFileSystem()->OpenRandomAccess(path)).value());
    ASSERT_TRUE(seekable.ok());
    EXPECT_EQ(image.size(), (*seekable)->DecompressedSize());
    EXPECT_EQ(image.substr(0, 16), std::string("SQLite format 3\0", 16));
  }
  EXPECT_EQ(made[0]->Serialize(), made[1]->Serialize());
  EXPECT_EQ(read[0]->Serialize(), read[1]->Serialize());
  EXPECT_EQ(read[1]->Serialize(), made[1]->Serialize());
  // A needle's keys prune the same groups in both.
  NeedleSet2 needles(1);
  needles[0].push_back(KeysForNeedle2(Hex(77)));
  for (const auto& f : {read[0], read[1]}) {
    const UsableKeys keys = UsableKeysFor(*f, needles);
    ASSERT_TRUE(keys.prunes);
    const auto groups = CandidateGroups(*f, keys, INT64_MIN, INT64_MAX);
    ASSERT_EQ(groups.size(), 1u);
    EXPECT_LE(f->groups[groups[0]].min_ts, 77 * 4);
    EXPECT_GE(f->groups[groups[0]].max_ts, 77 * 4 + 3);
  }
}

// A flipped byte in the frame is caught by its checksum, not probed.
TEST(FilterFrame, ADamagedFrameIsCorruptionNotWrongFilters) {
  const std::string path = NewDir() + "/seg.sqlite.zst";
  SegmentInfo info;
  ASSERT_NO_FATAL_FAILURE(WriteFramed(path, &info));
  uint64_t offset = 0, size = 0;
  {
    auto r = SeekableReader::Open(std::move(io::DefaultFileSystem()->OpenRandomAccess(path)).value());
    ASSERT_TRUE(r.ok());
    auto where = (*r)->FindSkippable(kFilterFrameMagic);
    ASSERT_TRUE(where.ok());
    offset = where->offset;
    size = where->size;
  }
  auto file = io::ReadFileToString(io::DefaultFileSystem(), path);
  ASSERT_TRUE(file.ok());
  (*file)[offset + size / 2] ^= 0x10;
  ASSERT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), path, *file).ok());
  auto f = LoadFilterFrame(io::DefaultFileSystem(), path);
  EXPECT_EQ(f.status().code(), Code::kCorruption) << f.status().ToString();
  Status check = VerifyDataFile(io::DefaultFileSystem(), path);  // what `loge check` and startup run
  EXPECT_EQ(check.code(), Code::kCorruption);
  EXPECT_NE(check.message().find("filter frame"), std::string::npos) << check.ToString();
  auto r = SegmentReader::Open(path);  // the data frames are intact
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->ReadFilters().status().code(), Code::kCorruption);
}

// The default file system, except that mapping fails.
class NoMapFs final : public io::FileSystem {
 public:
  Result<std::unique_ptr<io::WritableFile>> NewWritableFile(const std::string& p, bool a) override {
    return base_->NewWritableFile(p, a);
  }
  Result<std::unique_ptr<io::RandomAccessFile>> OpenRandomAccess(const std::string& p) override {
    return base_->OpenRandomAccess(p);
  }
  Status Rename(const std::string& f, const std::string& t) override { return base_->Rename(f, t); }
  Status Remove(const std::string& p) override { return base_->Remove(p); }
  Status SyncDir(const std::string& d) override { return base_->SyncDir(d); }
  Status CreateDirs(const std::string& d) override { return base_->CreateDirs(d); }
  Result<std::vector<std::string>> ListDir(const std::string& d) override { return base_->ListDir(d); }
  Result<uint64_t> FileSize(const std::string& p) override { return base_->FileSize(p); }
  bool Exists(const std::string& p) override { return base_->Exists(p); }
  Result<std::shared_ptr<const io::MappedRegion>> MapReadOnly(const std::string& p, uint64_t, size_t) override {
    return Status::IOError("mmap " + p + ": Cannot allocate memory");
  }

 private:
  io::FileSystem* base_ = io::DefaultFileSystem();
};

// A map that fails leaves the filters on the heap: never a file reported
// damaged (and quarantined at startup) for the lack of address space.
TEST(FilterFrame, AFailedMapKeepsTheFiltersOnTheHeap) {
  const std::string path = NewDir() + "/seg.sqlite.zst";
  SegmentInfo info;
  ASSERT_NO_FATAL_FAILURE(WriteFramed(path, &info));
  NoMapFs fs;
  auto f = LoadFilterFrame(&fs, path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(*f);
  EXPECT_FALSE((*f)->mapped());
  EXPECT_EQ((*f)->Serialize(), info.filters->Serialize());
}

// A file written without filters has no frame, and reads as filterless.
TEST(FilterFrame, AFileWithoutFiltersHasNoFrame) {
  const std::string path = NewDir() + "/seg.sqlite.zst";
  SegmentWriter w;
  Fill(&w);
  SegmentInfo info;
  ASSERT_TRUE(w.WriteFile(io::DefaultFileSystem(), path, 3, &info).ok());
  EXPECT_FALSE(info.filters);
  auto f = LoadFilterFrame(io::DefaultFileSystem(), path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_FALSE(*f);
}

}  // namespace
}  // namespace loge::storage
