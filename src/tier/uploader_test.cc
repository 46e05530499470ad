#include "tier/uploader.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "store/store.h"
#include "io/file_system.h"
#include "storage/segment_reader.h"
#include "storage/segment_writer.h"
#include "tier/remote_reads.h"
#include "tier/minio_test_suite.h"
#include "tier/s3_store.h"
#include "tier/segment_key.h"

namespace loge::tier {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr int64_t kHourNs = 3600LL * 1000 * 1000 * 1000;
// The wall clock every test runs at (unix ns): 2026-01-01T00:00:00Z.
constexpr int64_t kNow = 1767225600LL * 1000 * 1000 * 1000;

AwsCredentials TestCredentials() { return MinioTestCredentials(); }

std::string MakeTempDir() {
  std::string tmpl = ::testing::TempDir() + "/uploaderXXXXXX";
  LOGE_ASSERT(mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
  return tmpl;
}

// One node's local state: a catalog and its FileSet in a temp output path.
struct Node {
  std::string dir = MakeTempDir();
  std::unique_ptr<storage::Catalog> catalog;
  storage::FileSet files;
  int64_t next_id = 1;
  bool keep_dir = false;  // a "crashed" node leaves its directory for the restart

  Node() {
    auto c = storage::Catalog::Open(dir);
    LOGE_ASSERT(c.ok(), c.status().ToString().c_str());
    catalog = std::move(*c);
  }
  ~Node() {
    std::error_code ec;
    if (!keep_dir) std::filesystem::remove_all(dir, ec);
  }

  // Writes a real segment with rows at min_ts and max_ts, catalogs it and
  // publishes it, as a merge does.
  storage::CatalogEntry AddSegment(int64_t min_ts, int64_t max_ts) {
    storage::SegmentWriter w;
    std::vector<Entry> rows = {Entry{min_ts, "first line", ""}, Entry{max_ts, "last line", ""}};
    LOGE_ASSERT(w.AddStream(Labels{{"app", "web"}}, rows).ok(), "AddStream");
    // As a compaction's output: its source flush files are long gone.
    w.SetMeta("sources", "flush-0-" + std::to_string(next_id) + ".sqlite.zst");
    storage::SegmentInfo info;
    std::string name = "segment-" + std::to_string(min_ts) + "-" + std::to_string(max_ts) + "-" +
                       std::to_string(next_id++) + ".sqlite.zst";
    LOGE_ASSERT(w.WriteFile(io::DefaultFileSystem(), Path(name), 1, &info).ok(), "WriteFile");
    storage::CatalogEntry e = storage::EntryFor(storage::FileKind::kSegment, name, info, info.bytes);
    LOGE_ASSERT(catalog->Add(&e).ok(), "Add");
    files.Add(std::make_shared<const storage::FileHandle>(e, Path(name), io::DefaultFileSystem()));
    return e;
  }

  std::string Path(const std::string& name) const { return io::JoinPath(dir, name); }

  storage::CatalogEntry Row(int64_t id) {
    auto rows = catalog->List();
    LOGE_ASSERT(rows.ok(), "List");
    for (auto& r : *rows) {
      if (r.id == id) return r;
    }
    ADD_FAILURE() << "no catalog row " << id;
    return {};
  }

  storage::FilePtr Handle(int64_t id) {
    for (auto& f : files.Snapshot()) {
      if (f->entry.id == id) return f;
    }
    return nullptr;
  }
};

class UploaderMinio : public MinioSuite<UploaderMinio> {
 public:
  static constexpr const char* kBucket = "loge-upload";

 protected:
  void SetUp() override {
    MinioSuite::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store_ = OpenStore(Options(Prefix()));
  }

  static std::unique_ptr<S3Store> OpenStore(S3Options o) {
    auto s = S3Store::Open(std::move(o), TestCredentials());
    LOGE_ASSERT(s.ok(), s.status().ToString().c_str());
    return std::move(*s);
  }

  // A prefix per test, so the tests of the suite share one server.
  static std::string Prefix() {
    return std::string("t/") + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "/";
  }

  // An uploader on `node` at kNow with a steady clock the test moves.
  std::unique_ptr<Uploader> MakeUploader(Node* node, ObjectStore* store = nullptr, UploaderOptions o = {}) {
    o.rotate_interval = std::chrono::milliseconds(0);  // passes run only when the test says
    auto up = std::make_unique<Uploader>(o, store ? store : store_.get());
    up->TEST_SetClocks([] { return kNow; }, [this] { return steady_now_; });
    Status st = up->Start(node->catalog.get(), &node->files);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return up;
  }

  std::vector<ObjectInfo> Objects() {
    auto l = store_->ListObjects("");
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? *l : std::vector<ObjectInfo>{};
  }

  std::unique_ptr<S3Store> store_;
  std::chrono::steady_clock::time_point steady_now_ = std::chrono::steady_clock::now();
};

TEST_F(UploaderMinio, RotatesOnlySegmentsOlderThanTheAgeAndFlipsCatalogAndHandle) {
  Node node;
  auto old_seg = node.AddSegment(kNow - 3 * kHourNs, kNow - 2 * kHourNs);
  auto young = node.AddSegment(kNow - 3 * kHourNs, kNow - 10LL * 60 * 1000 * 1000 * 1000);  // 10 min old
  auto up = MakeUploader(&node);
  uint64_t local_size = std::filesystem::file_size(node.Path(old_seg.path));

  auto r = up->Rotate();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->uploaded, 1u);
  EXPECT_EQ(r->waiting, 1u);
  EXPECT_EQ(r->failed, 0u);
  EXPECT_EQ(r->bytes, local_size);

  // The object: <node-id>/segment-<min>-<max>-<id>.sqlite.zst, same size.
  auto objects = Objects();
  ASSERT_EQ(objects.size(), 1u);
  SegmentKeyInfo k;
  ASSERT_TRUE(ParseSegmentKey(objects[0].key, &k)) << objects[0].key;
  EXPECT_EQ(k.node_id, up->node_id());
  EXPECT_EQ(k.min_ts, old_seg.min_ts);
  EXPECT_EQ(k.max_ts, old_seg.max_ts);
  EXPECT_EQ(k.name, old_seg.path);
  EXPECT_EQ(objects[0].size, local_size);

  // The catalog row: remote, named by the public URL, everything else kept.
  std::string url = store_->PublicUrl(objects[0].key);
  auto row = node.Row(old_seg.id);
  EXPECT_EQ(row.tier, storage::Tier::kRemote);
  EXPECT_EQ(row.path, url);
  EXPECT_EQ(row.rows, old_seg.rows);
  EXPECT_EQ(row.label_keys, old_seg.label_keys);
  EXPECT_TRUE(row.label_keys_known);
  EXPECT_EQ(node.Row(young.id).tier, storage::Tier::kLocal);

  // New queries get the remote handle.
  auto h = node.Handle(old_seg.id);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->entry.tier, storage::Tier::kRemote);
  EXPECT_EQ(h->entry.path, url);
  EXPECT_EQ(h->local_path, "");
  EXPECT_EQ(node.files.size(), 2u);
  EXPECT_EQ(node.Handle(young.id)->entry.tier, storage::Tier::kLocal);

  // A second pass has nothing to do.
  r = up->Rotate();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uploaded, 0u);
  EXPECT_EQ(Objects().size(), 1u);
}

TEST_F(UploaderMinio, LocalCopyGoesOnlyAfterTheGraceWindowAndTheLastReader) {
  Node node;
  auto seg = node.AddSegment(kNow - 3 * kHourNs, kNow - 2 * kHourNs);
  UploaderOptions o;
  o.grace = minutes(1);
  auto up = MakeUploader(&node, nullptr, o);
  auto reader = node.files.Snapshot();  // a query that planned with the local copy
  ASSERT_TRUE(up->Rotate().ok());
  const std::string local = node.Path(seg.path);

  EXPECT_TRUE(std::filesystem::exists(local));
  EXPECT_EQ(up->RetireExpired(), 0u);  // grace not over
  steady_now_ += seconds(59);
  EXPECT_EQ(up->RetireExpired(), 0u);
  EXPECT_TRUE(std::filesystem::exists(local));
  EXPECT_EQ(up->TEST_retiring(), 1u);

  steady_now_ += seconds(2);
  EXPECT_EQ(up->RetireExpired(), 1u);
  EXPECT_EQ(up->TEST_retiring(), 0u);
  // Grace over, but a query still reads it.
  EXPECT_TRUE(std::filesystem::exists(local));
  reader.clear();
  EXPECT_FALSE(std::filesystem::exists(local));
  EXPECT_EQ(up->stats().local_deleted, 1u);
}

TEST_F(UploaderMinio, WrongBucketLeavesTheSegmentLocalAndALaterPassSucceeds) {
  Node node;
  auto seg = node.AddSegment(kNow - 3 * kHourNs, kNow - 2 * kHourNs);
  auto wrong = OpenStore(Options(Prefix(), "no-such-bucket"));
  {
    auto up = MakeUploader(&node, wrong.get());
    auto r = up->Rotate();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->uploaded, 0u);
    EXPECT_EQ(r->failed, 1u);
    EXPECT_FALSE(r->first_error.ok());
    EXPECT_NE(r->first_error.message().find("NoSuchBucket"), std::string::npos) << r->first_error.ToString();
    auto pass = up->RunNow();
    EXPECT_FALSE(pass.ok());
  }
  EXPECT_EQ(node.Row(seg.id).tier, storage::Tier::kLocal);
  EXPECT_EQ(node.Handle(seg.id)->entry.tier, storage::Tier::kLocal);
  EXPECT_TRUE(std::filesystem::exists(node.Path(seg.path)));
  EXPECT_TRUE(Objects().empty());

  auto up = MakeUploader(&node);
  auto r = up->Rotate();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uploaded, 1u);
  EXPECT_EQ(node.Row(seg.id).tier, storage::Tier::kRemote);
}

TEST_F(UploaderMinio, StoppedServerLeavesSegmentsLocalAndALaterPassSucceeds) {
  Node node;
  auto a = node.AddSegment(kNow - 5 * kHourNs, kNow - 4 * kHourNs);
  auto b = node.AddSegment(kNow - 3 * kHourNs, kNow - 2 * kHourNs);
  MinioServer down;
  ASSERT_TRUE(down.Start(binary_).ok());
  S3Options o = Options(Prefix());
  o.endpoint = down.endpoint();
  o.max_retries = 0;
  auto unreachable = OpenStore(o);
  down.Stop();  // nothing listens there any more
  {
    auto up = MakeUploader(&node, unreachable.get());  // its startup reconcile fails: logged, not fatal
    auto r = up->Rotate();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->uploaded, 0u);
    EXPECT_EQ(r->failed, 2u);  // the pass stops at the first unreachable upload
    EXPECT_EQ(r->first_error.code(), Code::kUnavailable) << r->first_error.ToString();
    // Reconcile changes nothing when the listing fails.
    EXPECT_FALSE(up->Reconcile().ok());
  }
  for (auto id : {a.id, b.id}) EXPECT_EQ(node.Row(id).tier, storage::Tier::kLocal);
  EXPECT_EQ(node.files.size(), 2u);

  auto up = MakeUploader(&node);
  auto r = up->Rotate();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uploaded, 2u);
  EXPECT_EQ(Objects().size(), 2u);
}

// A crash after each step of a rotation (uploader.cc, RotateOne), then a
// restart through the real store: exactly one catalog row for the
// segment, never both local and remote, and one object once a pass runs.
TEST_F(UploaderMinio, CrashAtEveryStepLosesAndDuplicatesNothing) {
  for (int crash_step = 1; crash_step <= 5; crash_step++) {
    SCOPED_TRACE("crash after step " + std::to_string(crash_step));
    auto store = OpenStore(Options(Prefix() + std::to_string(crash_step) + "/"));
    auto node = std::make_unique<Node>();
    auto seg = node->AddSegment(kNow - 3 * kHourNs, kNow - 2 * kHourNs);
    const std::string dir = node->dir, local = node->Path(seg.path);
    const uint64_t size = std::filesystem::file_size(local);
    std::string node_id;
    {
      auto up = MakeUploader(node.get(), store.get());
      node_id = up->node_id();
      up->TEST_step_hook = [&](int step) {
        return step == crash_step ? Status::IOError("injected crash") : Status::OK();
      };
      auto r = up->Rotate();
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->failed, 1u);
    }
    // The crash: the process state is gone; the directory and bucket stay.
    node->keep_dir = true;
    node.reset();
    EXPECT_TRUE(std::filesystem::exists(local));

    UploaderOptions uo;
    uo.grace = std::chrono::milliseconds(0);
    uo.rotate_interval = std::chrono::milliseconds(0);
    Uploader up(uo, store.get());
    up.TEST_SetClocks([] { return kNow; }, nullptr);
    store::StoreOptions io;
    io.output_path = dir;
    io.merge_interval = std::chrono::seconds(0);
    io.catalog_worker = &up;
    auto ing = store::Store::Open(io);
    ASSERT_TRUE(ing.ok()) << ing.status().ToString();
    EXPECT_EQ(up.node_id(), node_id);  // persisted in the catalog
    auto stats = (*ing)->Stats();
    EXPECT_EQ(stats.segments, 1u);
    EXPECT_EQ(stats.segments_remote, crash_step >= 4 ? 1u : 0u);
    // Flipped before the crash: startup deleted the leftover local copy.
    EXPECT_EQ(std::filesystem::exists(local), crash_step < 4);

    auto pass = (*ing)->RunCatalogWorkerNow();
    ASSERT_TRUE(pass.ok()) << pass.status().ToString();
    stats = (*ing)->Stats();
    EXPECT_EQ(stats.segments, 1u);
    EXPECT_EQ(stats.segments_remote, 1u);
    EXPECT_EQ(stats.rows_total, seg.rows);
    EXPECT_FALSE(std::filesystem::exists(local));
    auto objects = store->ListObjects("");
    ASSERT_TRUE(objects.ok());
    ASSERT_EQ(objects->size(), 1u);
    EXPECT_EQ((*objects)[0].key, SegmentKey(node_id, seg.path));
    EXPECT_EQ((*objects)[0].size, size);
    ASSERT_TRUE((*ing)->Close().ok());
    std::filesystem::remove_all(dir);
  }
}

TEST_F(UploaderMinio, StartAbortsUnfinishedUploadsOfThisNodeOnly) {
  Node node;
  std::string id;
  {
    auto up = MakeUploader(&node);
    id = up->node_id();
  }
  // A 11 MiB file makes a multipart upload (threshold and parts at 5 MiB);
  // part 2 fails and the abort is skipped, as if the process died mid-upload.
  S3Options o = Options(Prefix());
  o.multipart_threshold = 5ull << 20;
  o.part_size = 5ull << 20;
  auto store = OpenStore(o);
  std::string big = node.Path("big.bin");
  {
    std::ofstream out(big, std::ios::binary);
    std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 11; i++) out << chunk;
  }
  store->TEST_FailUploadPart(2);
  store->TEST_SkipAbort(true);
  ASSERT_FALSE(store->PutFile(SegmentKey(id, "segment-1-2-9.sqlite.zst"), big).ok());
  ASSERT_FALSE(store->PutFile(SegmentKey("other-node", "segment-1-2-9.sqlite.zst"), big).ok());
  store->TEST_FailUploadPart(0);
  store->TEST_SkipAbort(false);
  ASSERT_EQ(store->ListMultipartUploads("")->size(), 2u);

  auto up = MakeUploader(&node);  // same node id: Start cleans up
  auto left = store->ListMultipartUploads("");
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].key, SegmentKey("other-node", "segment-1-2-9.sqlite.zst"));
  ASSERT_TRUE(store->AbortMultipartUpload((*left)[0].key, (*left)[0].upload_id).ok());
}

TEST_F(UploaderMinio, ReconcileCatalogsTheBucketOnAFreshOutputPath) {
  Node a;
  auto s1 = a.AddSegment(kNow - 5 * kHourNs, kNow - 4 * kHourNs);
  auto s2 = a.AddSegment(-5, 7);  // negative bounds parse too
  auto up_a = MakeUploader(&a);
  ASSERT_EQ(up_a->Rotate()->uploaded, 2u);

  Node fresh;
  auto up = MakeUploader(&fresh);  // Start() reconciles
  EXPECT_NE(up->node_id(), up_a->node_id());
  auto rows = fresh.catalog->List();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  std::map<std::string, storage::CatalogEntry> by_url;
  for (auto& r : *rows) by_url[r.path] = r;
  for (const auto& s : {s1, s2}) {
    std::string url = store_->PublicUrl(SegmentKey(up_a->node_id(), s.path));
    ASSERT_TRUE(by_url.count(url)) << url;
    const auto& r = by_url[url];
    EXPECT_EQ(r.tier, storage::Tier::kRemote);
    EXPECT_EQ(r.kind, storage::FileKind::kSegment);
    EXPECT_EQ(r.min_ts, s.min_ts);
    EXPECT_EQ(r.max_ts, s.max_ts);
    EXPECT_EQ(r.bytes, s.bytes);
    EXPECT_EQ(r.rows, 0u);  // unknown from a key
    EXPECT_FALSE(r.label_keys_known);
    EXPECT_TRUE(r.token_filter.empty());
  }
  EXPECT_EQ(fresh.files.size(), 2u);
  for (const auto& f : fresh.files.Snapshot()) {
    EXPECT_EQ(f->entry.tier, storage::Tier::kRemote);
    EXPECT_EQ(f->local_path, "");
  }
  // Idempotent.
  auto again = up->Reconcile();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->adopted, 0u);
  EXPECT_EQ(again->dropped, 0u);
  EXPECT_EQ(fresh.catalog->List()->size(), 2u);
}

TEST_F(UploaderMinio, ANewReadUrlBaseRepointsRowsInsteadOfDuplicatingThem) {
  Node a;
  auto seg = a.AddSegment(kNow - 5 * kHourNs, kNow - 4 * kHourNs);
  auto up = MakeUploader(&a);
  ASSERT_EQ(up->Rotate()->uploaded, 1u);
  up->Stop();
  up.reset();

  S3Options o = Options(Prefix());
  o.read_url_base = "https://cdn.example.com/cold";
  auto cdn = OpenStore(o);
  auto up2 = MakeUploader(&a, cdn.get());  // Start reconciles
  auto rows = a.catalog->List();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].path, cdn->PublicUrl(SegmentKey(up2->node_id(), seg.path)));
  EXPECT_TRUE((*rows)[0].path.starts_with("https://cdn.example.com/cold/"));
  EXPECT_EQ((*rows)[0].rows, seg.rows);  // everything else kept
  EXPECT_TRUE((*rows)[0].label_keys_known);
  ASSERT_EQ(a.files.size(), 1u);
  EXPECT_EQ(a.files.Snapshot()[0]->entry.path, (*rows)[0].path);
  auto again = up2->Reconcile();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->repointed + again->adopted + again->dropped, 0u);
}

TEST_F(UploaderMinio, ReconcileDropsRowsWhoseObjectVanished) {
  Node a;
  auto s1 = a.AddSegment(kNow - 5 * kHourNs, kNow - 4 * kHourNs);
  a.AddSegment(kNow - 3 * kHourNs, kNow - 2 * kHourNs);
  auto up_a = MakeUploader(&a);
  ASSERT_EQ(up_a->Rotate()->uploaded, 2u);
  Node b;
  auto up_b = MakeUploader(&b);
  ASSERT_EQ(b.files.size(), 2u);

  ASSERT_TRUE(store_->DeleteObject(SegmentKey(up_a->node_id(), s1.path)).ok());
  for (auto* up : {up_a.get(), up_b.get()}) {
    auto r = up->Reconcile();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->dropped, 1u);
  }
  for (auto* n : {&a, &b}) {
    EXPECT_EQ(n->catalog->List()->size(), 1u);
    EXPECT_EQ(n->files.size(), 1u);
  }
  EXPECT_EQ(a.Handle(s1.id), nullptr);
}

// A rewrite of a remote segment (store/merger_rewrite.cc) swaps its row for
// a local one and records the object's URL as retired in one transaction;
// a crash before the object is deleted leaves it listed with no row. The
// reconcile deletes it (matched by URL, or by "<node>/<name>" under another
// URL base) and never adopts it, and forgets a retired key whose object
// is gone.
TEST_F(UploaderMinio, ReconcileDeletesARetiredKeyInsteadOfAdoptingIt) {
  Node a;
  auto s1 = a.AddSegment(kNow - 5 * kHourNs, kNow - 4 * kHourNs);
  auto s2 = a.AddSegment(kNow - 3 * kHourNs, kNow - 2 * kHourNs);
  auto up = MakeUploader(&a);
  ASSERT_EQ(up->Rotate()->uploaded, 2u);
  ASSERT_EQ(Objects().size(), 2u);
  const std::string url1 = a.Row(s1.id).path;
  const std::string cdn2 = "https://cdn.example.com/cold/" + SegmentKey(up->node_id(), s2.path);
  const std::string gone = store_->PublicUrl(SegmentKey(up->node_id(), "segment-1-2-99.sqlite.zst"));
  ASSERT_TRUE(a.catalog->ReplaceRetiring({s1.id, s2.id}, {}, nullptr, {url1, cdn2, gone}).ok());
  a.files.ReplaceMany({s1.id, s2.id}, {});
  auto r = up->Reconcile();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->retired_deleted, 2u);
  EXPECT_EQ(r->adopted, 0u);
  EXPECT_TRUE(Objects().empty());
  EXPECT_TRUE(a.catalog->List()->empty());
  EXPECT_EQ(a.files.size(), 0u);
  // Every retired key is forgotten: two objects deleted, one gone already.
  auto retired = a.catalog->ListRetiredObjects();
  ASSERT_TRUE(retired.ok());
  EXPECT_TRUE(retired->empty()) << retired->front();
  auto again = up->Reconcile();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->retired_deleted + again->adopted + again->dropped, 0u);
}

TEST_F(UploaderMinio, NodesSharingABucketAdoptEachOthersSegments) {
  Node a, b;
  a.AddSegment(kNow - 5 * kHourNs, kNow - 4 * kHourNs);
  b.AddSegment(kNow - 5 * kHourNs, kNow - 4 * kHourNs);  // same bounds and id: the node id keeps them apart
  b.AddSegment(kNow - 3 * kHourNs, kNow - 2 * kHourNs);
  UploaderOptions named;
  named.node_id = "node-b";
  auto up_a = MakeUploader(&a);
  auto up_b = MakeUploader(&b, nullptr, named);
  EXPECT_EQ(up_b->node_id(), "node-b");
  ASSERT_EQ(up_a->Rotate()->uploaded, 1u);
  ASSERT_EQ(up_b->Rotate()->uploaded, 2u);
  EXPECT_EQ(Objects().size(), 3u);

  auto ra = up_a->Reconcile();
  ASSERT_TRUE(ra.ok());
  EXPECT_EQ(ra->adopted, 2u);  // b's; its own is known
  auto rb = up_b->Reconcile();
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(rb->adopted, 1u);
  for (auto* n : {&a, &b}) {
    auto rows = n->catalog->List();
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ(rows->size(), 3u);
    for (const auto& r : *rows) EXPECT_EQ(r.tier, storage::Tier::kRemote);
  }

  // A fresh node with b's id adopts b's keys as its own and continues its
  // segment ids past them, so it never overwrites b's objects.
  Node b2;
  auto up_b2 = MakeUploader(&b2, nullptr, named);
  EXPECT_EQ(b2.catalog->List()->size(), 3u);
  auto next = b2.catalog->GetState(storage::kNextSegmentIdKey, 1);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 3);
}

TEST_F(UploaderMinio, NodeIdIsGeneratedOnceAndBadIdsAreRejected) {
  Node node;
  std::string first;
  {
    auto up = MakeUploader(&node);
    first = up->node_id();
    EXPECT_TRUE(ValidateNodeId(first).ok());
    EXPECT_EQ(first.size(), 16u);
  }
  auto up = MakeUploader(&node);
  EXPECT_EQ(up->node_id(), first);

  UploaderOptions bad;
  bad.node_id = "a/b";
  Uploader u(bad, store_.get());
  Status st = u.Start(node.catalog.get(), &node.files);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("--node-id"), std::string::npos);
}

// Objects whose key carries no bounds (an older naming) are cataloged by
// reading the file. Here the file is read from a downloaded copy, so the
// fallback's logic runs with or without remote reads.
TEST_F(UploaderMinio, UnknownNamingFallsBackToReadingTheFile) {
  Node src;
  auto seg = src.AddSegment(kNow - 5 * kHourNs, kNow - 4 * kHourNs);
  ASSERT_TRUE(store_->PutFile("legacy/old-segment.sqlite.zst", src.Path(seg.path)).ok());
  ASSERT_TRUE(store_->PutObject("notes.txt", "not a segment").ok());
  ASSERT_TRUE(store_->PutObject("legacy/garbage.sqlite.zst", "not a segment either").ok());

  Node fresh;
  UploaderOptions o;
  Uploader up(o, store_.get());
  up.TEST_SetClocks([] { return kNow; }, nullptr);
  std::string scratch = fresh.Path("download.tmp");
  up.TEST_SetOpenUnknown([&](const std::string& url, uint64_t size) -> Result<storage::CatalogEntry> {
    std::string key = url.substr(store_->PublicUrl("").size());
    LOGE_ASSIGN_OR_RETURN(std::string bytes, store_->GetObjectRange(key, 0, size));
    std::ofstream(scratch, std::ios::binary | std::ios::trunc) << bytes;
    return ReadSegmentEntry(scratch, url, size);
  });
  ASSERT_TRUE(up.Start(fresh.catalog.get(), &fresh.files).ok());
  auto r = up.Reconcile();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->unreadable, 1u);  // the garbage one: logged, left out
  auto rows = fresh.catalog->List();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  const auto& row = (*rows)[0];
  EXPECT_EQ(row.path, store_->PublicUrl("legacy/old-segment.sqlite.zst"));
  EXPECT_EQ(row.tier, storage::Tier::kRemote);
  EXPECT_EQ(row.min_ts, seg.min_ts);
  EXPECT_EQ(row.max_ts, seg.max_ts);
  EXPECT_EQ(row.rows, seg.rows);  // from the file's meta, unlike a key
  EXPECT_EQ(row.label_keys, (std::vector<std::string>{"app"}));
  EXPECT_TRUE(row.label_keys_known);
}

// The default fallback opens the URL through the zstd VFS (remote reads).
TEST_F(UploaderMinio, UnknownNamingIsReadThroughTheUrl) {
  Node src;
  auto seg = src.AddSegment(kNow - 5 * kHourNs, kNow - 4 * kHourNs);
  ASSERT_TRUE(store_->PutFile("legacy/old-segment.sqlite.zst", src.Path(seg.path)).ok());
  ASSERT_TRUE(store_->TEST_SetPublicReadPolicy().ok());
  std::string url = store_->PublicUrl("legacy/old-segment.sqlite.zst");
  ASSERT_TRUE(EnableRemoteReads(RemoteReadOptions{}).ok());
  ASSERT_TRUE(storage::SegmentReader::Open(url).ok());
  Node fresh;
  auto up = MakeUploader(&fresh);
  auto rows = fresh.catalog->List();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].path, url);
  EXPECT_EQ((*rows)[0].rows, seg.rows);
  EXPECT_EQ((*rows)[0].max_ts, seg.max_ts);
}

}  // namespace
}  // namespace loge::tier
