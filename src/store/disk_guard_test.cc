#include "store/disk_guard.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "io/file_system.h"
#include "store/store.h"
#include "store/test_files.h"

namespace loge::store {
namespace {

constexpr uint64_t kGiB = 1ull << 30;

// A free-space source a test sets at will.
struct FakeDisk {
  std::atomic<uint64_t> free_bytes{100 * kGiB};
  std::atomic<uint64_t> total_bytes{200 * kGiB};
  std::atomic<bool> fail{false};
  std::function<Result<DiskSpace>(const std::string&)> Source() {
    return [this](const std::string&) -> Result<DiskSpace> {
      if (fail) return Status::IOError("statvfs: injected failure");
      return DiskSpace{free_bytes.load(), total_bytes.load()};
    };
  }
};

TEST(DiskGuard, ParsesSizesPercentagesAndTheDefault) {
  EXPECT_EQ(ParseMinFreeDisk("")->kind, MinFreeDisk::Kind::kDefault);
  EXPECT_EQ(ParseMinFreeDisk("2GiB")->bytes, 2 * kGiB);
  EXPECT_EQ(ParseMinFreeDisk("0")->kind, MinFreeDisk::Kind::kBytes);
  EXPECT_DOUBLE_EQ(ParseMinFreeDisk("12.5%")->percent, 12.5);
  for (const char* bad : {"%", "100%", "-1%", "x%", "lots", "5 %"}) {
    SCOPED_TRACE(bad);
    auto m = ParseMinFreeDisk(bad);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.status().message().find("--min-free-disk"), std::string::npos);
  }
}

TEST(DiskGuard, DefaultThresholdIsOneGibOrFivePercentWhicheverIsSmaller) {
  FakeDisk disk;
  DiskGuardOptions o;
  o.path = "/data";
  o.space = disk.Source();
  auto threshold = [&](uint64_t total) {
    disk.total_bytes = total;
    DiskGuard g(o);
    g.Check();
    return g.state().min_free_bytes;
  };
  EXPECT_EQ(threshold(200 * kGiB), kGiB);
  EXPECT_EQ(threshold(10 * kGiB), kGiB / 2);
  o.min_free = *ParseMinFreeDisk("10%");
  EXPECT_EQ(threshold(10 * kGiB), kGiB);
  o.min_free = *ParseMinFreeDisk("0");  // off: never read-only
  disk.free_bytes = 0;
  EXPECT_EQ(threshold(10 * kGiB), 0u);
  DiskGuard off(o);
  off.Check();
  EXPECT_TRUE(off.AdmitWrite().ok());
}

TEST(DiskGuard, EntersAndLeavesReadOnlyModeWithTheFreeSpace) {
  FakeDisk disk;
  DiskGuardOptions o;
  o.path = "/data";
  o.space = disk.Source();
  DiskGuard g(o);
  g.Check();
  EXPECT_TRUE(g.AdmitWrite().ok());
  disk.free_bytes = kGiB - 1;
  g.Check();
  Status st = g.AdmitWrite();
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("disk almost full"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("--min-free-disk 1.0 GiB"), std::string::npos) << st.message();
  EXPECT_TRUE(g.state().read_only);
  // A failed read keeps the mode and is counted.
  disk.fail = true;
  disk.free_bytes = 50 * kGiB;
  g.Check();
  EXPECT_FALSE(g.AdmitWrite().ok());
  EXPECT_EQ(g.state().check_failures, 1u);
  disk.fail = false;
  g.Check();
  EXPECT_TRUE(g.AdmitWrite().ok());
  EXPECT_FALSE(g.state().read_only);
  EXPECT_EQ(g.state().entered, 1u);
}

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/diskguardXXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

Payload OneLine(int64_t ts) {
  Payload p;
  Stream s;
  s.labels = {{"app", "a"}};
  s.entries.push_back({ts, "line " + std::to_string(ts), ""});
  p.streams.push_back(std::move(s));
  return p;
}

// The store re-reads the free space on its own: pushes are refused while
// the disk is low and taken again once space is freed, without a restart;
// rows already stored stay readable throughout.
TEST(DiskGuard, StoreTurnsReadOnlyAndBackWithoutRestart) {
  FakeDisk disk;
  StoreOptions o;
  o.output_path = TempDir();
  o.flush_interval = std::chrono::hours(1);
  o.checkpoint_interval = std::chrono::hours(1);
  o.merge_interval = Duration(0);
  o.disk.space = disk.Source();
  o.disk_check_interval = std::chrono::milliseconds(10);
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Store* s = store->get();
  ASSERT_TRUE(s->Push(OneLine(1)).ok());

  disk.free_bytes = 100 << 20;
  ASSERT_TRUE(Eventually([&] { return !s->Writable().ok(); }));
  Status refused = s->Push(OneLine(2));
  EXPECT_EQ(refused.code(), Code::kUnavailable);
  EXPECT_NE(refused.message().find("disk almost full"), std::string::npos) << refused.message();
  EXPECT_TRUE(s->Stats().disk.read_only);
  EXPECT_EQ(s->Stats().head_rows, 1u);  // nothing of the refused push was taken
  ASSERT_TRUE(s->FlushAll().ok());      // flushes go on: they free WAL space
  EXPECT_EQ(s->Stats().rows_total, 1u);

  disk.free_bytes = 10 * kGiB;
  ASSERT_TRUE(Eventually([&] { return s->Writable().ok(); }));
  EXPECT_TRUE(s->Push(OneLine(3)).ok());
  EXPECT_FALSE(s->Stats().disk.read_only);
  EXPECT_EQ(s->Stats().disk.entered, 1u);
}

// A store opened on a full disk refuses its first push: the guard checks
// before the store takes anything.
TEST(DiskGuard, StoreOpenedOnAFullDiskIsReadOnlyAtOnce) {
  FakeDisk disk;
  disk.free_bytes = 1;
  StoreOptions o;
  o.output_path = TempDir();
  o.disk.space = disk.Source();
  o.disk_check_interval = std::chrono::hours(1);  // only the check at Open
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Push(OneLine(1)).code(), Code::kUnavailable);
}

}  // namespace
}  // namespace loge::store
