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

TEST(FileSet, SwapReplacesByIdAndLeavesTheOldFileToTheCaller) {
  std::string tmpl = ::testing::TempDir() + "/filesetXXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  FileSet set;
  std::string local = tmpl + "/seg";
  ASSERT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), local, "x").ok());
  set.Add(Handle(1, local));
  set.Add(Handle(2, tmpl + "/other"));
  CatalogEntry remote;
  remote.id = 1;
  remote.tier = Tier::kRemote;
  remote.path = "http://s3/b/seg";
  FilePtr old = set.Swap(std::make_shared<const FileHandle>(remote, "", io::DefaultFileSystem()));
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->local_path, local);
  auto now = set.Snapshot();
  ASSERT_EQ(now.size(), 2u);
  for (const auto& f : now) {
    if (f->entry.id == 1) {
      EXPECT_EQ(f->entry.tier, Tier::kRemote);
      EXPECT_EQ(f->local_path, "");
    }
  }
  // Not marked obsolete: dropping the old handle keeps the file.
  old.reset();
  EXPECT_TRUE(io::DefaultFileSystem()->Exists(local));
  // An unknown id adds nothing.
  CatalogEntry stray;
  stray.id = 9;
  EXPECT_EQ(set.Swap(std::make_shared<const FileHandle>(stray, "", io::DefaultFileSystem())), nullptr);
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace loge::storage
