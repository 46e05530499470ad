#include "storage/filter_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

#include "io/file_system.h"
#include "storage/file_set.h"
#include "storage/keys.h"
#include "storage/segment_reader.h"
#include "storage/segment_writer.h"

namespace loge::storage {
namespace {

std::string Id(int n) {
  std::mt19937_64 r(static_cast<uint64_t>(n) * 7919 + 3);
  std::string s;
  for (int i = 0; i < 32; i++) s.push_back("0123456789abcdef"[r() % 16]);
  return s;
}

// A format-2 segment (the lazy filters are format 2's; format 3 maps them:
// filter_frame_test.cc) of 3000 lines in groups of 100 lines, 300 ids each
// in 10 lines (so it has a summary); its entry as a merge would publish it.
// unique: an id of its own in every line (no summary).
CatalogEntry WriteSegment(const std::string& path, bool unique = false) {
  SegmentWriterOptions o;
  o.group_lines = 100;
  o.filter_frame = false;
  SegmentWriter w(o);
  std::vector<Entry> es;
  for (int i = 0; i < 3000; i++) es.push_back({i, "GET /orders trace=" + Id(unique ? i : i % 300), ""});
  EXPECT_TRUE(w.AddStream({{"app", "web"}}, es).ok());
  SegmentInfo info;
  EXPECT_TRUE(w.WriteFile(io::DefaultFileSystem(), path, 1, &info).ok());
  CatalogEntry e = EntryFor(FileKind::kSegment, path.substr(path.rfind('/') + 1), info, info.bytes);
  e.id = 1;
  e.level = 1;
  return e;
}

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/fcacheXXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

TEST(FilterCache, KeepsTheMostRecentlyUsedWithinItsBudget) {
  auto f = std::make_shared<FileFilters>();
  f->groups.resize(10);
  auto bytes = std::make_shared<std::string>(1000, 'x');
  for (auto& g : f->groups) g.filter = *bytes;
  f->storage = bytes;
  const size_t one = f->Bytes() + f->groups.size() * sizeof(GroupFilter) + sizeof(FileFilters);
  FilterCache c(2 * one + one / 2);  // room for two
  c.Put("a", f);
  c.Put("b", f);
  EXPECT_TRUE(c.Get("a"));  // a is now the most recent
  c.Put("c", f);            // b goes
  EXPECT_TRUE(c.Get("a"));
  EXPECT_FALSE(c.Get("b"));
  EXPECT_TRUE(c.Get("c"));
  EXPECT_EQ(c.GetStats().entries, 2u);
  EXPECT_EQ(c.GetStats().bytes, 2 * one);
  c.Erase("a");
  EXPECT_EQ(c.GetStats().bytes, one);
  FilterCache none(0);  // nothing fits: nothing is kept
  none.Put("a", f);
  EXPECT_FALSE(none.Get("a"));
  EXPECT_EQ(none.GetStats().bytes, 0u);
}

// A published local segment keeps its summary and group ranges in memory;
// the group filters come from the cache, or from the file when the cache
// let them go, and are the file's own either way.
TEST(FilterCache, LazySegmentHandlesReadTheirGroupsFromTheCacheOrTheFile) {
  const std::string dir = TempDir();
  const std::string path = dir + "/segment-1-2-1.sqlite.zst";
  CatalogEntry e = WriteSegment(path);
  ASSERT_TRUE(e.filters);
  ASSERT_GT(e.filters->groups.size(), 10u);
  const std::string full_blob = e.filters->Serialize();
  for (size_t capacity : {size_t{64} << 20, size_t{0}}) {
    auto cache = std::make_shared<FilterCache>(capacity);
    FilePtr h = FileHandle::Make(e, path, io::DefaultFileSystem(), cache);
    ASSERT_TRUE(h->entry.filters->lazy);
    EXPECT_FALSE(h->entry.filters->summary.empty());
    EXPECT_LT(h->entry.filters->Bytes(), e.filters->Bytes());
    for (const auto& g : h->entry.filters->groups) EXPECT_TRUE(g.filter.empty());
    for (int round = 0; round < 2; round++) {
      auto reader = SegmentReader::Open(path);
      ASSERT_TRUE(reader.ok());
      auto full = h->GroupFilters(reader->get());
      ASSERT_TRUE(full.ok()) << full.status().ToString();
      ASSERT_TRUE(*full);
      EXPECT_FALSE((*full)->lazy);
      EXPECT_EQ((*full)->Serialize(), full_blob);
    }
    const auto s = cache->GetStats();
    if (capacity == 0) {
      EXPECT_EQ(s.hits, 0u);  // every lookup read the file
      EXPECT_EQ(s.misses, 2u);
    } else {
      EXPECT_EQ(s.hits, 2u);  // put there when published
      EXPECT_EQ(s.misses, 0u);
    }
    // With no reader given, the handle opens the file itself (the S3
    // rotation stores every filter in the catalog this way).
    auto own = h->GroupFilters(nullptr);
    ASSERT_TRUE(own.ok()) << own.status().ToString();
    EXPECT_EQ((*own)->Serialize(), full_blob);
  }
  // A file that left the catalog leaves the cache as it is deleted.
  auto cache = std::make_shared<FilterCache>(size_t{64} << 20);
  {
    FilePtr h = FileHandle::Make(e, path, io::DefaultFileSystem(), cache);
    EXPECT_EQ(cache->GetStats().entries, 1u);
    h->MarkObsolete();
  }
  EXPECT_EQ(cache->GetStats().entries, 0u);
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(path));
}

// Flush files and remote rows keep every filter with them.
TEST(FilterCache, OnlyLocalSegmentsAreLazy) {
  const std::string dir = TempDir();
  const std::string path = dir + "/segment-1-2-1.sqlite.zst";
  CatalogEntry e = WriteSegment(path);
  auto cache = std::make_shared<FilterCache>(size_t{64} << 20);
  CatalogEntry flush = e;
  flush.kind = FileKind::kFlush;
  EXPECT_FALSE(FileHandle::Make(flush, path, io::DefaultFileSystem(), cache)->entry.filters->lazy);
  CatalogEntry remote = e;
  remote.tier = Tier::kRemote;
  EXPECT_FALSE(FileHandle::Make(remote, "", io::DefaultFileSystem(), cache)->entry.filters->lazy);
  EXPECT_FALSE(FileHandle::Make(e, path, io::DefaultFileSystem(), nullptr)->entry.filters->lazy);
  // A file without a summary: nothing could prune it before its groups.
  CatalogEntry unique = WriteSegment(dir + "/segment-3-4-2.sqlite.zst", /*unique=*/true);
  ASSERT_TRUE(unique.filters);
  EXPECT_TRUE(unique.filters->summary.empty());
  EXPECT_FALSE(FileHandle::Make(unique, dir + "/segment-3-4-2.sqlite.zst", io::DefaultFileSystem(), cache)
                   ->entry.filters->lazy);
  EXPECT_EQ(cache->GetStats().entries, 0u);
}

}  // namespace
}  // namespace loge::storage
