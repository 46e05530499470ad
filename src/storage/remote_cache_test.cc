#include "storage/remote_cache.h"

#include <gtest/gtest.h>

#include <thread>

#include "storage/seekable_zstd.h"

namespace loge::storage {
namespace {

auto Bytes(size_t n, char c = 'x') {
  return [n, c](std::string* out) {
    out->assign(n, c);
    return Status::OK();
  };
}

std::shared_ptr<const SeekTable> Table() { return std::make_shared<SeekTable>(); }

TEST(RemoteCache, KeepsAtMostFramesPerFileNewestFirst) {
  RemoteCache c({.frames_per_file = 2, .max_bytes = 1 << 20, .max_files = 4});
  c.PutTable("a", Table());
  for (uint64_t i = 0; i < 3; i++) ASSERT_TRUE(c.GetFrame("a", i, Bytes(10)).ok());
  EXPECT_EQ(c.FramesOf("a"), 2u);
  EXPECT_EQ(c.Bytes(), 20u);
  bool hit = false;
  ASSERT_TRUE(c.GetFrame("a", 2, Bytes(10), &hit).ok());
  EXPECT_TRUE(hit);
  ASSERT_TRUE(c.GetFrame("a", 0, Bytes(10), &hit).ok());
  EXPECT_FALSE(hit) << "frame 0 was the oldest and should have been evicted";
}

TEST(RemoteCache, ByteLimitTakesFramesOfTheLeastRecentlyUsedFileFirst) {
  RemoteCache c({.frames_per_file = 100, .max_bytes = 100, .max_files = 4});
  c.PutTable("old", Table());
  c.PutTable("new", Table());
  ASSERT_TRUE(c.GetFrame("old", 0, Bytes(40)).ok());
  ASSERT_TRUE(c.GetFrame("old", 1, Bytes(40)).ok());
  ASSERT_TRUE(c.GetFrame("new", 0, Bytes(40)).ok());
  EXPECT_LE(c.Bytes(), 100u);
  EXPECT_EQ(c.FramesOf("new"), 1u);
  EXPECT_EQ(c.FramesOf("old"), 1u);
  // A frame larger than the whole budget is returned but not kept.
  auto big = c.GetFrame("new", 1, Bytes(101));
  ASSERT_TRUE(big.ok());
  EXPECT_EQ((*big)->size(), 101u);
  EXPECT_LE(c.Bytes(), 100u);
}

TEST(RemoteCache, MaxFilesForgetsTheLeastRecentlyUsedFileAndItsFrames) {
  RemoteCache c({.frames_per_file = 10, .max_bytes = 1000, .max_files = 2});
  c.PutTable("a", Table());
  ASSERT_TRUE(c.GetFrame("a", 0, Bytes(10)).ok());
  c.PutTable("b", Table());
  ASSERT_NE(c.Table("a"), nullptr);  // a is now the most recent
  c.PutTable("c", Table());
  EXPECT_EQ(c.Files(), 2u);
  EXPECT_EQ(c.Table("b"), nullptr);
  EXPECT_NE(c.Table("a"), nullptr);
  EXPECT_EQ(c.Bytes(), 10u);
  c.SetLimits({.frames_per_file = 10, .max_bytes = 1000, .max_files = 1});
  EXPECT_EQ(c.Files(), 1u);
}

TEST(RemoteCache, FramesOfAnUnknownFileAreServedButNotKept) {
  RemoteCache c({});
  ASSERT_TRUE(c.GetFrame("nobody", 0, Bytes(10)).ok());
  EXPECT_EQ(c.Bytes(), 0u);
  EXPECT_EQ(c.Files(), 0u);
}

TEST(RemoteCache, LoadErrorsReachEveryWaiterAndAreNotCached) {
  RemoteCache c({});
  c.PutTable("a", Table());
  std::atomic<int> loads{0};
  std::atomic<bool> release{false};
  auto failing = [&](std::string*) {
    loads++;
    while (!release) std::this_thread::yield();
    return Status::Unavailable("store down");
  };
  Status first, second;
  std::thread t1([&] { first = c.GetFrame("a", 0, failing).status(); });
  // Wait until t1's load is in flight, then join it from a second caller.
  while (loads.load() == 0) std::this_thread::yield();
  std::thread t2([&] { second = c.GetFrame("a", 0, failing).status(); });
  release = true;
  t1.join();
  t2.join();
  EXPECT_EQ(first.code(), Code::kUnavailable);
  EXPECT_EQ(second.code(), Code::kUnavailable);
  EXPECT_LE(loads.load(), 2);
  EXPECT_EQ(c.FramesOf("a"), 0u);
  ASSERT_TRUE(c.GetFrame("a", 0, Bytes(5)).ok());
  EXPECT_EQ(c.FramesOf("a"), 1u);
}

}  // namespace
}  // namespace loge::storage
