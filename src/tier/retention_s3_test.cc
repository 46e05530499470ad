// Retention of remote segments against a real MinIO: the object is deleted,
// the catalog row removed, and a crash at each step of that deletion leaves
// nothing expired to come back (reconcile included) and loses nothing kept.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>

#include "query/engine.h"
#include "store/store.h"
#include "tier/minio_test_suite.h"
#include "tier/s3_store.h"
#include "tier/uploader.h"

namespace loge::tier {
namespace {

constexpr int64_t kHourNs = 3600LL * 1000 * 1000 * 1000;
constexpr int64_t kNow = 1767225600LL * 1000 * 1000 * 1000;  // 2026-01-01T00:00:00Z

std::string MakeTempDir() {
  std::string tmpl = ::testing::TempDir() + "/retention_s3XXXXXX";
  LOGE_ASSERT(mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
  return tmpl;
}

void PushFile(store::Store* s, int64_t newest) {
  Payload p;
  Stream st;
  st.labels = {{"app", "web"}};
  for (int i = 99; i >= 0; i--) {
    const int64_t ts = newest - static_cast<int64_t>(i) * 1000000000;
    st.entries.push_back({ts, "line at " + std::to_string(ts), ""});
  }
  p.streams.push_back(std::move(st));
  ASSERT_TRUE(s->Push(std::move(p)).ok());
  ASSERT_TRUE(s->FlushAll().ok());
}

class RetentionMinio : public MinioSuite<RetentionMinio> {
 public:
  static constexpr const char* kBucket = "loge-retention";

 protected:
  static std::unique_ptr<Uploader> MakeUploader(S3Store* s3) { return ManualUploader(s3, kNow); }
  static store::StoreOptions Opts(const std::string& dir, Uploader* up, Duration age, uint64_t remote_bytes = 0) {
    store::StoreOptions o;
    o.output_path = dir;
    o.flush_interval = std::chrono::hours(1);
    o.checkpoint_interval = std::chrono::hours(1);
    o.merge_interval = Duration(0);
    o.catalog_worker = up;
    o.retention.max_age = age;
    o.retention.max_remote_bytes = remote_bytes;
    o.retention.interval = Duration(0);
    o.retention.now_ns = [] { return kNow; };
    return o;
  }
  static size_t Objects(S3Store* s3) {
    auto l = s3->ListObjects("");
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? l->size() : 0;
  }

};

// crash_step 0: no crash. Otherwise the deletion stops before that step
// (retention.cc, DeleteRemote): 1 before the object delete, 2 after it,
// 3 after the catalog row went.
TEST_F(RetentionMinio, ExpiredRemoteSegmentGoesFromBucketAndCatalogAtEveryCrashStep) {
  for (int crash_step = 0; crash_step <= 3; crash_step++) {
    SCOPED_TRACE("crash at step " + std::to_string(crash_step));
    auto s3 = OpenS3("r/" + std::to_string(crash_step) + "/");
    const std::string dir = MakeTempDir();
    {
      auto up = MakeUploader(s3.get());
      auto s = store::Store::Open(Opts(dir, up.get(), std::chrono::hours(24)));
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      PushFile(s->get(), kNow - 30 * kHourNs);
      ASSERT_TRUE((*s)->CompactNow().ok());
      ASSERT_TRUE((*s)->RunCatalogWorkerNow().ok());  // the old segment rotates to the bucket
      PushFile(s->get(), kNow);                       // a fresh local flush file
      ASSERT_TRUE((*s)->TEST_Checkpoint().ok());
      ASSERT_EQ((*s)->Stats().segments_remote, 1u);
      ASSERT_EQ(Objects(s3.get()), 1u);
      // Clipped before any pass: the remote file is not even opened.
      query::Engine engine(query::EngineOptions{}, s->get());
      query::Query q;
      q.limit = query::kMaxLimit;
      auto r = engine.Run(q);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->hits.size(), 100u);
      EXPECT_EQ(r->stats.remote_files_opened, 0u);
      EXPECT_FALSE(r->partial);
      if (crash_step > 0) {
        (*s)->TEST_SetRetentionHook([&](int step) {
          return step == crash_step ? Status::IOError("injected crash") : Status::OK();
        });
        EXPECT_FALSE((*s)->RunRetentionNow().ok());
      } else {
        ASSERT_TRUE((*s)->RunRetentionNow().ok());
        auto st = (*s)->Stats();
        EXPECT_EQ(st.retention.remote_deleted, 1u);
        EXPECT_EQ(st.retention.rows_deleted, 100u);
      }
      s->reset();  // the "crash": process state gone; directory and bucket stay
    }
    // Restarted with retention off: the startup reconcile runs; only a
    // crash before the object delete leaves the expired segment.
    {
      auto up = MakeUploader(s3.get());
      auto s = store::Store::Open(Opts(dir, up.get(), Duration(0)));
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      ASSERT_TRUE((*s)->RunCatalogWorkerNow().ok());
      auto st = (*s)->Stats();
      EXPECT_EQ(st.segments_remote, crash_step == 1 ? 1u : 0u);
      EXPECT_EQ(st.rows_total, crash_step == 1 ? 200u : 100u);
      EXPECT_EQ(Objects(s3.get()), crash_step == 1 ? 1u : 0u);
      s->reset();
    }
    // With retention on again, one pass finishes the job.
    auto up = MakeUploader(s3.get());
    auto s = store::Store::Open(Opts(dir, up.get(), std::chrono::hours(24)));
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->RunRetentionNow().ok());
    ASSERT_TRUE((*s)->RunCatalogWorkerNow().ok());
    auto st = (*s)->Stats();
    EXPECT_EQ(st.segments_remote, 0u);
    EXPECT_EQ(st.rows_total, 100u);
    EXPECT_EQ(Objects(s3.get()), 0u);
    s->reset();
    up.reset();
    std::filesystem::remove_all(dir);
  }
}

// --s3-retention-size: the bucket keeps at most that many bytes of
// segments, the oldest going first; local files are not touched.
TEST_F(RetentionMinio, BucketSizeBoundDeletesOldestRemoteSegmentsFirst) {
  auto s3 = OpenS3("size/");
  const std::string dir = MakeTempDir();
  uint64_t newest_bytes = 0;
  {
    auto up = MakeUploader(s3.get());
    auto s = store::Store::Open(Opts(dir, up.get(), Duration(0)));
    ASSERT_TRUE(s.ok());
    for (int64_t h : {9, 7, 5}) {
      PushFile(s->get(), kNow - h * kHourNs);
      ASSERT_TRUE((*s)->CompactNow().ok());
      ASSERT_TRUE((*s)->RunCatalogWorkerNow().ok());
    }
    PushFile(s->get(), kNow);
    ASSERT_TRUE((*s)->TEST_Checkpoint().ok());
    ASSERT_EQ((*s)->Stats().segments_remote, 3u);
    ASSERT_EQ(Objects(s3.get()), 3u);
    auto l = s3->ListObjects("");
    ASSERT_TRUE(l.ok());
    for (const auto& o : *l) newest_bytes = std::max<uint64_t>(newest_bytes, o.size);
    s->reset();
  }
  auto up = MakeUploader(s3.get());
  auto s = store::Store::Open(Opts(dir, up.get(), Duration(0), newest_bytes + newest_bytes / 2));
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->RunRetentionNow().ok());
  auto st = (*s)->Stats();
  EXPECT_EQ(st.segments_remote, 1u);
  EXPECT_EQ(st.retention.remote_deleted, 2u);
  EXPECT_EQ(st.flush_files, 1u);  // local files are not the bucket's bound
  EXPECT_EQ(Objects(s3.get()), 1u);
  EXPECT_EQ(st.min_ts, kNow - 5 * kHourNs - 99 * 1000000000LL);  // the newest segment is the one left
  s->reset();
  up.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace loge::tier
