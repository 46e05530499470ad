#include "storage/file_set.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "io/file_system.h"

namespace loge::storage {
namespace {

FilePtr Handle(int64_t id, const std::string& path) {
  CatalogEntry e;
  e.id = id;
  e.path = path;
  return std::make_shared<const FileHandle>(e, path, io::DefaultFileSystem());
}

TEST(FileSet, ReplaceDeletesRemovedFilesWhenTheLastReaderLetsGo) {
  std::string tmpl = ::testing::TempDir() + "/filesetXXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  FileSet set;
  std::vector<std::string> paths;
  for (int i = 1; i <= 6; i++) {
    paths.push_back(tmpl + "/f" + std::to_string(i));
    ASSERT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), paths.back(), "x").ok());
    set.Add(Handle(i, paths.back()));
  }
  auto reader = set.Snapshot();  // a query still holding every file
  set.Replace({1, 2, 4}, Handle(7, tmpl + "/seg"));
  auto now = set.Snapshot();
  std::vector<int64_t> ids;
  for (const auto& f : now) ids.push_back(f->entry.id);
  EXPECT_EQ(ids, (std::vector<int64_t>{3, 5, 6, 7}));
  // Still on disk: the reader holds them.
  EXPECT_TRUE(io::DefaultFileSystem()->Exists(paths[0]));
  reader.clear();
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(paths[0]));
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(paths[1]));
  EXPECT_TRUE(io::DefaultFileSystem()->Exists(paths[2]));
  EXPECT_FALSE(io::DefaultFileSystem()->Exists(paths[3]));
}

}  // namespace
}  // namespace loge::storage
