// ResidentFilters: the longest unused mappings are given back first, only
// above the limit, and a real mapping's pages leave the resident set and
// read back intact; through the store, needles still find their rows.
#include "store/resident_filters.h"

#include <gtest/gtest.h>

#include <string>

#include "io/file_system.h"
#include "query/engine.h"
#include "store/store.h"
#include "store/test_files.h"

namespace loge::store {
namespace {

// A mapping of `size` bytes: a use brings them all into `*resident`, a
// release takes them out.
class FakeRegion final : public io::MappedRegion {
 public:
  FakeRegion(size_t size, uint64_t* resident) : bytes_(size, 'x'), resident_(resident) {}
  std::string_view bytes() const override { return bytes_; }
  void Use() {
    Touch();
    if (!in_) *resident_ += bytes_.size();
    in_ = true;
  }
  int releases() const { return releases_; }

 private:
  void DoRelease() const override {
    releases_++;
    if (in_) *resident_ -= bytes_.size();
    in_ = false;
  }
  std::string bytes_;
  uint64_t* resident_;
  mutable bool in_ = false;
  mutable int releases_ = 0;
};

// Waits for the millisecond clock Touch() reads to move on, so that two
// touches are ordered.
void NextMillisecond() {
  const auto now = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  const auto t = now();
  while (now() == t) {
  }
}

TEST(ResidentFilters, GivesBackTheLongestUnusedAboveTheLimit) {
  uint64_t resident = 1000;  // the baseline: not filters
  ResidentFilters rf(100, [&] { return resident; });
  auto old_one = std::make_shared<FakeRegion>(40, &resident);
  auto middle = std::make_shared<FakeRegion>(40, &resident);
  auto recent = std::make_shared<FakeRegion>(40, &resident);
  auto unused = std::make_shared<FakeRegion>(1000, &resident);  // mapped, never probed
  old_one->Use();
  NextMillisecond();
  middle->Use();
  NextMillisecond();
  recent->Use();
  std::vector<std::shared_ptr<const io::MappedRegion>> all = {recent, unused, old_one, middle};

  // 120 above the baseline, limit 100: down to 3/4 of it (75) takes 45,
  // i.e. the two used longest ago; the one never used holds nothing.
  rf.Check(all);
  EXPECT_EQ(old_one->releases(), 1);
  EXPECT_EQ(middle->releases(), 1);
  EXPECT_EQ(recent->releases(), 0);
  EXPECT_EQ(unused->releases(), 0);
  ResidentFilters::Stats s = rf.GetStats();
  EXPECT_EQ(s.resident_bytes, 40u);
  EXPECT_EQ(s.released_bytes, 80u);
  EXPECT_EQ(s.releases, 2u);

  // Under the limit: nothing more.
  rf.Check(all);
  EXPECT_EQ(recent->releases(), 0);
  EXPECT_EQ(rf.GetStats().releases, 2u);

  // Over it again by the most recent alone: the released ones, unused
  // since, are passed over (releasing them again would free nothing), so
  // the most recent goes although it was used last.
  auto big = std::make_shared<FakeRegion>(100, &resident);
  NextMillisecond();
  big->Use();
  all.push_back(big);
  rf.Check(all);  // 140 above: 65 to give back
  EXPECT_EQ(old_one->releases(), 1);
  EXPECT_EQ(middle->releases(), 1);
  EXPECT_EQ(recent->releases(), 1);
  EXPECT_EQ(big->releases(), 1);
  EXPECT_EQ(rf.GetStats().resident_bytes, 0u);

  // Used again, released mappings are candidates again.
  NextMillisecond();
  old_one->Use();
  NextMillisecond();
  big->Use();
  rf.Check(all);  // 140 above: 65 to give back, the older first
  EXPECT_EQ(old_one->releases(), 2);
  EXPECT_EQ(big->releases(), 2);
  EXPECT_EQ(recent->releases(), 1);
}

TEST(ResidentFilters, NoLimitNeverReleases) {
  uint64_t resident = 0;
  ResidentFilters rf(0, [&] { return resident; });
  auto r = std::make_shared<FakeRegion>(1 << 20, &resident);
  r->Use();
  rf.Check({r});
  EXPECT_EQ(r->releases(), 0);
  EXPECT_EQ(rf.GetStats().resident_bytes, 1u << 20);  // still reported
}

// The real thing: touching a mapping's pages adds them to the process's
// file-backed resident set, Release takes them out, and the bytes read the
// same afterwards (faulted back from the page cache, never zeros).
TEST(ResidentFilters, ReleaseTakesPagesOutOfTheResidentSetAndKeepsTheBytes) {
  const std::string dir = NewTestDir("resident");
  const std::string path = dir + "/mapped";
  constexpr size_t kSize = 16 << 20;
  std::string data(kSize, '\0');
  for (size_t i = 0; i < kSize; i++) data[i] = static_cast<char>('a' + i % 23);
  io::FileSystem* fs = io::DefaultFileSystem();
  ASSERT_TRUE(io::WriteFileAtomic(fs, path, data).ok());
  auto region = fs->MapReadOnly(path, 0, kSize);
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  const std::string_view bytes = (*region)->bytes();

  const uint64_t before = io::FileResidentBytes();
  ASSERT_GT(before, 0u);  // /proc/self/statm is readable
  uint64_t sum = 0;
  for (size_t i = 0; i < kSize; i += 4096) sum += static_cast<unsigned char>(bytes[i]);
  const uint64_t touched = io::FileResidentBytes();
  EXPECT_GE(touched, before + kSize / 2) << "touched " << sum;

  (*region)->Release();
  const uint64_t released = io::FileResidentBytes();
  EXPECT_LE(released + kSize / 2, touched);
  EXPECT_EQ(bytes, data);  // read back after the release
}

// Through the store: with a limit of one page, the ticker gives back the
// mapped filters a needle probed, and the needle still finds its rows.
TEST(ResidentFilters, TheStoreGivesBackProbedFiltersAndNeedlesStillFindRows) {
  StoreOptions o = WhenToldOptions(NewTestDir("resident-store"));
  o.filter_resident_bytes = 4096;
  o.disk_check_interval = std::chrono::milliseconds(10);
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (int f = 0; f < 4; f++) {
    Payload p;
    Stream s;
    s.labels = {{"app", "web"}};
    for (int i = 0; i < 200; i++) {
      const int64_t ts = f * 1000 + i;
      s.entries.push_back({ts, "GET /orders request_id=req" + std::to_string(ts) + " done", ""});
    }
    p.streams.push_back(std::move(s));
    ASSERT_TRUE((*store)->Push(std::move(p)).ok());
    ASSERT_TRUE((*store)->FlushAll().ok());
  }
  ASSERT_GT((*store)->Stats().filter_mapped_bytes, 0u);

  query::Engine engine(query::EngineOptions{}, store->get());
  auto needle = [&](const std::string& what) {
    query::Query q;
    q.limit = query::kMaxLimit;
    q.line_filters.push_back(*query::LineFilter::Make(query::LineFilterType::kContains, what));
    auto r = engine.Run(q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->hits.size() : 0;
  };
  EXPECT_EQ(needle("request_id=req2117"), 1u);
  ASSERT_TRUE(Eventually([&] { return (*store)->Stats().filter_released_bytes > 0; }));
  EXPECT_EQ(needle("request_id=req3199"), 1u);
  EXPECT_EQ(needle("request_id=req3200"), 0u);
}

}  // namespace
}  // namespace loge::store
