// Delete requests and per-stream retention on REMOTE segments, against a
// real MinIO (store/merger_rewrite.cc): the segment is downloaded,
// rewritten into a new local segment without the removed rows, swapped in
// the catalog with its object key recorded as retired, and the object
// deleted. The removed bytes end up in no object and no local file, every
// other row is read exactly once, and a crash at each step — the reconcile
// after a crash between the swap and the object's deletion included —
// loses nothing kept and resurrects nothing removed.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "io/file_system.h"
#include "query/engine.h"
#include "query/logql.h"
#include "storage/catalog.h"
#include "store/retention.h"
#include "store/store.h"
#include "store/test_files.h"
#include "tier/minio_test_suite.h"
#include "tier/remote_reads.h"
#include "tier/s3_store.h"
#include "tier/uploader.h"

namespace loge::tier {
namespace {

constexpr int64_t kSec = 1000000000;
constexpr int64_t kHourNs = 3600 * kSec;
constexpr int64_t kNow = 1767225600LL * kSec;  // 2026-01-01T00:00:00Z: the uploader's clock
constexpr int64_t kOld = kNow - 30 * kHourNs;  // rows old enough to rotate
constexpr const char* kSecret = "password=hunter2";
constexpr const char* kSecretLine = "login user=bob password=hunter2";

// 100 rows of {app=<app>} ending at `newest`, one a second; row 50 of "web"
// at kOld carries the secret. Flushed into a file.
void PushFile(store::Store* s, const std::string& app, int64_t newest) {
  Payload p;
  Stream st;
  st.labels = {{"app", app}};
  for (int i = 99; i >= 0; i--) {
    const int64_t ts = newest - i * kSec;
    std::string line = app + " request " + std::to_string(i) + " ok";
    if (app == "web" && newest == kOld && i == 50) line = kSecretLine;
    st.entries.push_back({ts, line, ""});
  }
  p.streams.push_back(std::move(st));
  ASSERT_TRUE(s->Push(std::move(p)).ok());
  ASSERT_TRUE(s->FlushAll().ok());
}

std::vector<query::Hit> Hits(store::Store* s, const std::string& selector) {
  query::Engine engine(query::EngineOptions{}, s);
  query::Query q;
  q.limit = query::kMaxLimit;
  auto sel = query::ParseSelector(selector);
  EXPECT_TRUE(sel.ok()) << sel.status().ToString();
  q.SetSelector(std::move(*sel));
  auto r = engine.Run(q);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (r.ok()) {
    EXPECT_FALSE(r->partial) << (r->warnings.empty() ? "" : r->warnings.front());
  }
  return r.ok() ? r->hits : std::vector<query::Hit>{};
}

// Every row pushed but the secret, each exactly once (`rows` in all).
void ExpectAllButSecretOnce(store::Store* s, size_t rows) {
  std::map<std::string, int> seen;
  for (const auto& h : Hits(s, "{app=~\".+\"}")) {
    EXPECT_EQ(h.line.find(kSecret), std::string::npos) << h.line;
    EXPECT_EQ(++seen[std::to_string(h.ts) + h.labels_json + h.line], 1) << "read twice: " << h.line;
  }
  EXPECT_EQ(seen.size(), rows);
}

class DeleteMinio : public MinioSuite<DeleteMinio> {
 public:
  static constexpr const char* kBucket = "loge-delete";

 protected:
  void SetUp() override {
    MinioSuite<DeleteMinio>::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // Queries and the delete pass's scan read remote segments by URL.
    auto s3 = OpenS3("");
    ASSERT_TRUE(s3->TEST_SetPublicReadPolicy().ok());
    ASSERT_TRUE(EnableRemoteReads(RemoteReadOptions{}).ok());
  }
  static std::unique_ptr<Uploader> MakeUploader(S3Store* s3) { return ManualUploader(s3, kNow); }
  static store::StoreOptions Opts(const std::string& dir, Uploader* up) {
    store::StoreOptions o = store::WhenToldOptions(dir);
    o.catalog_worker = up;
    o.retention.interval = Duration(0);
    o.retention.now_ns = [] { return kNow; };
    o.deletes.cancel_period = Duration(0);
    o.deletes.interval = Duration(0);  // passes only when told
    return o;
  }
  // The decompressed bytes of every object under the store's prefix.
  static std::string BucketText(S3Store* s3) {
    const std::string dir = store::NewTestDir("bucket_text");
    auto l = s3->ListObjects("");
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    for (const auto& o : l.ok() ? *l : std::vector<ObjectInfo>{}) {
      auto bytes = s3->GetObjectRange(o.key, 0, o.size);
      EXPECT_TRUE(bytes.ok()) << o.key;
      auto f = io::DefaultFileSystem()->NewWritableFile(dir + "/" + std::filesystem::path(o.key).filename().string(),
                                                        false);
      EXPECT_TRUE(f.ok());
      if (!bytes.ok() || !f.ok()) continue;
      EXPECT_TRUE((*f)->Append(*bytes).ok());
      EXPECT_TRUE((*f)->Close().ok());
    }
    std::string all = store::DecompressedDataFiles(dir);
    std::filesystem::remove_all(dir);
    return all;
  }
  static size_t Objects(S3Store* s3) {
    auto l = s3->ListObjects("");
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? l->size() : 0;
  }
  // A store whose old {app=web} (with the secret) and {app=api} rows are
  // one segment in the bucket, next to a fresh local flush file of
  // {app=new}: 300 rows.
  static void Prepare(store::Store* s, S3Store* s3) {
    ASSERT_NO_FATAL_FAILURE(PushFile(s, "web", kOld));
    ASSERT_NO_FATAL_FAILURE(PushFile(s, "api", kOld));
    ASSERT_TRUE(s->CompactNow().ok());
    ASSERT_TRUE(s->RunCatalogWorkerNow().ok());  // the old segment rotates
    ASSERT_NO_FATAL_FAILURE(PushFile(s, "new", kNow));
    ASSERT_EQ(s->Stats().segments_remote, 1u);
    ASSERT_EQ(Objects(s3), 1u);
    ASSERT_NE(BucketText(s3).find(kSecret), std::string::npos);
  }
  static std::vector<std::string> RetiredObjects(const std::string& dir) {
    auto c = storage::Catalog::Open(dir);  // beside the store's own connection (WAL mode)
    EXPECT_TRUE(c.ok());
    if (!c.ok()) return {};
    auto r = (*c)->ListRetiredObjects();
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<std::string>{};
  }
};

TEST_F(DeleteMinio, ARequestWithRowsInARemoteSegmentIsProcessedAndItsBytesLeaveTheBucket) {
  auto s3 = OpenS3("ok/");
  const std::string dir = store::NewTestDir("delete_s3");
  {
    auto up = MakeUploader(s3.get());
    auto s = store::Store::Open(Opts(dir, up.get()));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store::Store* st = s->get();
    ASSERT_NO_FATAL_FAILURE(Prepare(st, s3.get()));
    auto r = st->CreateDelete("{app=\"web\"} |= \"hunter2\"", kOld - kHourNs, kNow);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(st->RunDeletesNow().ok());
    ASSERT_EQ(st->ListDeletes().size(), 1u);
    EXPECT_TRUE(st->ListDeletes()[0].processed);  // GET /loki/api/v1/delete: "processed"
    EXPECT_EQ(st->ListDeletes()[0].rows_deleted, 1u);
    const auto ds = st->Stats().deletes;
    EXPECT_EQ(ds.pending, 0u);
    EXPECT_EQ(ds.waiting_remote, 0u);
    EXPECT_EQ(ds.files_rewritten, 1u);
    EXPECT_EQ(ds.rows_deleted, 1u);
    EXPECT_EQ(ds.bytes_deleted, std::string(kSecretLine).size());
    // The old object is gone; its kept rows are in a new local segment.
    EXPECT_EQ(Objects(s3.get()), 0u);
    EXPECT_EQ(st->Stats().segments_remote, 0u);
    EXPECT_TRUE(RetiredObjects(dir).empty());
    EXPECT_EQ(store::DecompressedDataFiles(dir).find(kSecret), std::string::npos);
    EXPECT_TRUE(Hits(st, "{app=\"web\"} |= \"hunter2\"").empty());  // no tombstone applies any more
    ExpectAllButSecretOnce(st, 299);
    // The rotation takes the rewritten segment to the bucket as usual.
    ASSERT_TRUE(st->RunCatalogWorkerNow().ok());
    EXPECT_EQ(st->Stats().segments_remote, 1u);
    EXPECT_EQ(Objects(s3.get()), 1u);
    const std::string bucket = BucketText(s3.get());
    EXPECT_EQ(bucket.find(kSecret), std::string::npos);
    EXPECT_NE(bucket.find("api request 7 ok"), std::string::npos);  // the kept rows are there
    ExpectAllButSecretOnce(st, 299);
    ASSERT_TRUE(st->Close().ok());
  }
  // A restart (and its reconcile) brings nothing back and reads nothing twice.
  auto up = MakeUploader(s3.get());
  auto s = store::Store::Open(Opts(dir, up.get()));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ExpectAllButSecretOnce(s->get(), 299);
  EXPECT_TRUE(Hits(s->get(), "{app=\"web\"} |= \"hunter2\"").empty());
  s->reset();
  std::filesystem::remove_all(dir);
}

// The rewrite stops at each step (store/merger_rewrite.cc: 1 before the
// download, 2 before the merge, 4 the commit fails, 5 after the commit,
// 6 after the publish, before the object's deletion, 7 after it, before
// its key is forgotten) and the store restarts, as after a crash.
TEST_F(DeleteMinio, ACrashAtEveryStepOfARemoteRewriteLosesNothingAndResurrectsNothing) {
  for (int crash_at : {1, 2, 4, 5, 6, 7}) {
    SCOPED_TRACE("crash at step " + std::to_string(crash_at));
    auto s3 = OpenS3("crash" + std::to_string(crash_at) + "/");
    const std::string dir = store::NewTestDir("delete_s3_crash");
    {
      auto up = MakeUploader(s3.get());
      auto s = store::Store::Open(Opts(dir, up.get()));
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      store::Store* st = s->get();
      ASSERT_NO_FATAL_FAILURE(Prepare(st, s3.get()));
      ASSERT_TRUE(st->CreateDelete("{app=\"web\"} |= \"hunter2\"", kOld - kHourNs, kNow).ok());
      st->TEST_SetMergeHook([crash_at](int step) {
        return step == crash_at ? Status::IOError("injected crash") : Status::OK();
      });
      EXPECT_FALSE(st->RunDeletesNow().ok());
      EXPECT_EQ(st->Stats().deletes.pending, 1u);
      ExpectAllButSecretOnce(st, 299);
      // Stopped between the swap and the publish, the old object is still
      // in the bucket with no row naming it: the restart's reconcile is
      // what must not adopt it. (Stopped after the publish, the same pass's
      // FinishRetiredObjects deletes it already.)
      if (crash_at == 5) {
        EXPECT_EQ(Objects(s3.get()), 1u);
        EXPECT_EQ(RetiredObjects(dir).size(), 1u);
      }
      st->TEST_SetMergeHook(nullptr);
      s->reset();  // the "crash": process state gone; directory and bucket stay
    }
    // Once the swap committed (5 and later), the startup reconcile deletes
    // the old object (its key is retired) instead of adopting it again.
    const bool swapped = crash_at >= 5;
    auto up = MakeUploader(s3.get());
    auto s = store::Store::Open(Opts(dir, up.get()));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store::Store* st = s->get();
    EXPECT_EQ(Objects(s3.get()), swapped ? 0u : 1u);
    EXPECT_EQ(st->Stats().segments_remote, swapped ? 0u : 1u);
    EXPECT_TRUE(RetiredObjects(dir).empty());
    ExpectAllButSecretOnce(st, 299);
    ASSERT_TRUE(st->RunCatalogWorkerNow().ok());  // a periodic reconcile adopts nothing either
    ExpectAllButSecretOnce(st, 299);
    // The next pass finishes the request.
    ASSERT_TRUE(st->RunDeletesNow().ok());
    EXPECT_EQ(st->Stats().deletes.pending, 0u);
    EXPECT_TRUE(Hits(st, "{app=\"web\"} |= \"hunter2\"").empty());
    ExpectAllButSecretOnce(st, 299);
    ASSERT_TRUE(st->RunCatalogWorkerNow().ok());
    EXPECT_EQ(BucketText(s3.get()).find(kSecret), std::string::npos);
    EXPECT_EQ(store::DecompressedDataFiles(dir).find(kSecret), std::string::npos);
    ExpectAllButSecretOnce(st, 299);
    s->reset();
    std::filesystem::remove_all(dir);
  }
}

// --retention-rule on a remote segment: the expired stream's rows leave it
// (a rewrite into a local segment, then the rotation), the kept stream's
// rows stay, once.
TEST_F(DeleteMinio, ARetentionRuleRewritesARemoteSegmentWithoutTheExpiredStream) {
  auto s3 = OpenS3("rule/");
  const std::string dir = store::NewTestDir("retention_rule_s3");
  auto up = MakeUploader(s3.get());
  auto opts = Opts(dir, up.get());
  auto rule = store::ParseRetentionRule("{app=\"api\"}=24h");
  ASSERT_TRUE(rule.ok()) << rule.status().ToString();
  opts.retention.rules.push_back(*rule);
  auto s = store::Store::Open(opts);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  store::Store* st = s->get();
  ASSERT_NO_FATAL_FAILURE(Prepare(st, s3.get()));
  EXPECT_TRUE(Hits(st, "{app=\"api\"}").empty());  // clipped before the pass
  ASSERT_NE(BucketText(s3.get()).find("api request 7 ok"), std::string::npos);
  ASSERT_TRUE(st->RunRetentionNow().ok());
  EXPECT_EQ(st->Stats().retention.files_rewritten, 1u);
  EXPECT_EQ(st->Stats().retention.rows_deleted, 100u);
  EXPECT_EQ(Objects(s3.get()), 0u);
  ASSERT_TRUE(st->RunCatalogWorkerNow().ok());
  EXPECT_EQ(Objects(s3.get()), 1u);
  const std::string bucket = BucketText(s3.get());
  EXPECT_EQ(bucket.find("api request"), std::string::npos);
  EXPECT_NE(bucket.find("web request 7 ok"), std::string::npos);
  EXPECT_EQ(Hits(st, "{app=\"web\"}").size(), 100u);
  EXPECT_EQ(Hits(st, "{app=\"new\"}").size(), 100u);
  s->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace loge::tier
