#include "tier/uploader.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>

#include "core/time.h"
#include "io/file_system.h"
#include "tier/object_store.h"
#include "tier/s3_store.h"
#include "tier/segment_key.h"

namespace loge::tier {

namespace {

std::string NodeIdFromState(int64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(static_cast<uint64_t>(v)));
  return buf;
}

}  // namespace

Uploader::Uploader(UploaderOptions opts, ObjectStore* store)
    : opts_(std::move(opts)),
      store_(store),
      fs_(opts_.fs ? opts_.fs : io::DefaultFileSystem()),
      wall_ns_(NowNanos),
      steady_([] { return std::chrono::steady_clock::now(); }) {}

Uploader::~Uploader() { Stop(); }

void Uploader::TEST_SetClocks(std::function<int64_t()> wall_ns,
                              std::function<std::chrono::steady_clock::time_point()> steady) {
  if (wall_ns) wall_ns_ = std::move(wall_ns);
  if (steady) steady_ = std::move(steady);
}

Status Uploader::ResolveNodeId() {
  if (!opts_.node_id.empty()) {
    LOGE_RETURN_IF_ERROR(ValidateNodeId(opts_.node_id));
    node_id_ = opts_.node_id;
    return Status::OK();
  }
  // Generated once and kept in the catalog: the node keeps its keys across
  // restarts; a fresh output path is a new node.
  LOGE_ASSIGN_OR_RETURN(int64_t v, catalog_->GetState(kNodeIdKey, 0));
  if (v == 0) {
    std::string fresh = RandomNodeId();
    v = static_cast<int64_t>(std::stoull(fresh, nullptr, 16));
    if (v == 0) v = 1;
    LOGE_RETURN_IF_ERROR(catalog_->SetState(kNodeIdKey, v));
  }
  node_id_ = NodeIdFromState(v);
  return Status::OK();
}

Status Uploader::Start(storage::Catalog* catalog, storage::FileSet* files) {
  catalog_ = catalog;
  files_ = files;
  LOGE_RETURN_IF_ERROR(ResolveNodeId());
  spdlog::info("S3 tier: node id {}, objects under {}", node_id_, store_->PublicUrl(node_id_ + "/"));
  AbortLeftoverUploads();
  auto rec = Reconcile();
  if (!rec.ok()) {
    spdlog::error("S3 tier: startup reconcile failed (retried every --s3-rotate-interval; local data is "
                  "unaffected): {}",
                  rec.status().ToString());
  } else if (rec->max_own_id >= 0) {
    // This node's id was used before (--node-id on a fresh output path): new
    // segments must not reuse a name that is already in the bucket.
    LOGE_ASSIGN_OR_RETURN(int64_t next, catalog_->GetState(storage::kNextSegmentIdKey, 1));
    if (next <= rec->max_own_id) LOGE_RETURN_IF_ERROR(catalog_->SetState(storage::kNextSegmentIdKey, rec->max_own_id + 1));
  }
  if (opts_.rotate_interval.count() > 0 && !thread_.joinable()) {
    thread_ = std::jthread([this](std::stop_token st) { Loop(st); });
  }
  return Status::OK();
}

void Uploader::AbortLeftoverUploads() {
  // Only S3Store has multipart uploads to clean; only this node's keys, and
  // no upload of this node can be running before its first pass.
  auto* s3 = dynamic_cast<S3Store*>(store_);
  if (!s3) return;
  auto pending = s3->ListMultipartUploads(node_id_ + "/");
  if (!pending.ok()) {
    spdlog::warn("S3 tier: cannot list unfinished multipart uploads (retried at the next start): {}",
                 pending.status().ToString());
    return;
  }
  for (const auto& u : *pending) {
    Status st = s3->AbortMultipartUpload(u.key, u.upload_id);
    if (st.ok()) spdlog::info("S3 tier: aborted the unfinished upload of {} left by an earlier run", u.key);
    else spdlog::warn("S3 tier: cannot abort the unfinished upload of {}: {}", u.key, st.ToString());
  }
}

void Uploader::Stop() {
  stopping_ = true;
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
  // Local copies still in their grace window stay on disk: the catalog names
  // their remote copy, so the next start deletes them (store_open.cc).
}

std::chrono::steady_clock::time_point Uploader::NextRetireDeadline() const {
  MutexLock l(&retire_mu_);
  auto t = std::chrono::steady_clock::time_point::max();
  for (const auto& r : retiring_) t = std::min(t, r.deadline);
  return t;
}

void Uploader::Loop(std::stop_token st) {
  std::mutex m;
  std::condition_variable_any cv;
  auto next_pass = std::chrono::steady_clock::now() + opts_.rotate_interval;
  for (;;) {
    // Wake for the next pass, or earlier when a grace window ends. Grace
    // deadlines are on steady_ (a test clock may differ): they are checked,
    // not slept to, when the clocks differ.
    auto wake = std::min(next_pass, NextRetireDeadline());
    {
      std::unique_lock<std::mutex> l(m);
      cv.wait_until(l, st, wake, [] { return false; });
    }
    if (st.stop_requested()) return;
    if (std::chrono::steady_clock::now() >= next_pass) {
      auto r = RunNow();
      if (!r.ok()) spdlog::warn("S3 tier: pass incomplete (retried next interval; nothing is lost): {}", r.status().ToString());
      next_pass = std::chrono::steady_clock::now() + opts_.rotate_interval;
    } else {
      RetireExpired();
    }
  }
}

Result<std::string> Uploader::KeyOfUrl(const std::string& url) const {
  const std::string base = store_->PublicUrl("");
  std::string key;
  if (url.size() > base.size() && url.compare(0, base.size(), base) == 0) {
    key = url.substr(base.size());
  } else {
    // Another URL base (--s3-read-url-base changed): "<node>/<name>" ends it.
    const size_t name = url.rfind('/');
    const size_t node = name == std::string::npos || name == 0 ? std::string::npos : url.rfind('/', name - 1);
    if (node == std::string::npos) return Status::InvalidArgument("not an object URL of this bucket: " + url);
    key = url.substr(node + 1);
  }
  const size_t query = key.find('?');
  if (query != std::string::npos) key.resize(query);
  return key;
}

Status Uploader::DeleteRemote(const std::string& url) {
  LOGE_ASSIGN_OR_RETURN(const std::string key, KeyOfUrl(url));
  MutexLock l(&pass_mu_);
  return store_->DeleteObject(key).WithContext("delete " + key);
}

Status Uploader::FetchRemote(const std::string& url, const std::string& path) {
  // A ranged GET per chunk: a bounded buffer whatever the segment's size.
  constexpr uint64_t kFetchChunkBytes = 8 << 20;
  LOGE_ASSIGN_OR_RETURN(const std::string key, KeyOfUrl(url));
  LOGE_ASSIGN_OR_RETURN(ObjectInfo info, store_->HeadObject(key));
  LOGE_ASSIGN_OR_RETURN(auto out, fs_->NewWritableFile(path, /*append=*/false));
  for (uint64_t at = 0; at < info.size;) {
    LOGE_ASSIGN_OR_RETURN(std::string bytes,
                          store_->GetObjectRange(key, at, std::min<uint64_t>(kFetchChunkBytes, info.size - at)));
    if (bytes.empty()) return Status::IOError("fetch " + key + ": empty range at " + std::to_string(at));
    LOGE_RETURN_IF_ERROR(out->Append(bytes));
    at += bytes.size();
  }
  return out->Close().WithContext("fetch " + key + " to " + path);
}

Result<std::vector<std::pair<std::string, int64_t>>> Uploader::RunNow() {
  if (!catalog_) return Status::Unavailable("the S3 uploader has not started");
  auto rot = Rotate();
  auto rec = Reconcile();
  size_t retired = RetireExpired();
  {
    MutexLock l(&stats_mu_);
    stats_.passes++;
  }
  std::vector<std::pair<std::string, int64_t>> out;
  auto add = [&](const char* k, uint64_t v) { out.emplace_back(k, static_cast<int64_t>(v)); };
  if (rot.ok()) {
    add("uploaded", rot->uploaded);
    add("upload_failed", rot->failed);
    add("waiting", rot->waiting);
  }
  if (rec.ok()) {
    add("adopted", rec->adopted + rec->adopted_opened);
    add("dropped", rec->dropped);
    add("pending", rec->pending);
    add("retired_deleted", rec->retired_deleted);
  }
  add("local_deleted", retired);
  spdlog::debug("S3 tier: pass done: {} uploaded, {} waiting, {} failed; reconcile: {} adopted, {} dropped, "
                "{} pending; {} local copies released",
                rot.ok() ? rot->uploaded : 0, rot.ok() ? rot->waiting : 0, rot.ok() ? rot->failed : 0,
                rec.ok() ? rec->adopted + rec->adopted_opened : 0, rec.ok() ? rec->dropped : 0,
                rec.ok() ? rec->pending : 0, retired);
  Status err = !rot.ok() ? rot.status() : rot->failed > 0 ? rot->first_error : Status::OK();
  if (err.ok() && !rec.ok()) err = rec.status().WithContext("reconcile");
  if (!err.ok()) {
    std::string counts;
    for (const auto& [k, v] : out) counts += (counts.empty() ? "" : ", ") + k + " " + std::to_string(v);
    return err.WithContext("S3 rotation pass (" + counts + ")");
  }
  return out;
}

Result<RotateStats> Uploader::Rotate() {
  MutexLock pass(&pass_mu_);
  RotateStats rs;
  const int64_t cutoff = wall_ns_() - static_cast<int64_t>(opts_.rotate_age.count());
  std::vector<storage::FilePtr> due;
  for (auto& f : files_->Snapshot()) {
    const auto& e = f->entry;
    if (e.kind != storage::FileKind::kSegment || e.tier != storage::Tier::kLocal) continue;
    if (e.max_ts <= cutoff) due.push_back(f);
    else rs.waiting++;
  }
  std::sort(due.begin(), due.end(), [](const storage::FilePtr& a, const storage::FilePtr& b) {
    return a->entry.max_ts < b->entry.max_ts;
  });
  for (const auto& f : due) {
    if (stopping_) break;  // shutting down: the rest waits for the next start
    // A merge may be rewriting this segment: leave it to the next pass (the
    // merge's output is rotated once it is old enough).
    if (!files_->Claim({f->entry.id})) {
      rs.waiting++;
      continue;
    }
    Status st = RotateOne(f, &rs);
    files_->Unclaim({f->entry.id});
    if (st.ok()) continue;
    rs.failed++;
    if (rs.first_error.ok()) rs.first_error = st;
    spdlog::error("S3 tier: {} stays local (retried next pass): {}", f->entry.path, st.ToString());
    // An unreachable store fails every upload the same way, each after a
    // timeout: leave the rest for the next pass.
    if (st.code() == Code::kUnavailable) {
      rs.failed += static_cast<uint64_t>(&due.back() - &f);
      break;
    }
  }
  MutexLock l(&stats_mu_);
  stats_.uploaded += rs.uploaded;
  stats_.bytes_uploaded += rs.bytes;
  stats_.upload_failures += rs.failed;
  return rs;
}

// One segment, in crash-safe order:
//  1. (Rotate) the segment is local in the catalog and its newest row is
//     older than rotate_age;
//  2. upload the local file to <node-id>/<file name> (PutFile: one PUT, or a
//     multipart upload aborted on failure, so a failed upload leaves no
//     object). The key is deterministic, so a repeated upload overwrites
//     the same object with the same bytes;
//  3. HEAD the object: its size must equal the local file's size;
//  4. one catalog transaction flips the row: tier = kRemote, path = the
//     object's public URL (Catalog::SetRemote);
//  5. publish: new queries get a remote handle (FileSet::Swap); the local
//     handle is kept until the grace window passes;
//  6. (RetireExpired) after the grace window the local handle is marked
//     obsolete and released; the file is unlinked when the last query
//     holding it lets go.
// A crash before 4 leaves the row local (with or without an object in the
// bucket): queries keep reading the local file; reconcile sees this node's
// key of a still-local segment and leaves it alone (no duplicate row); the
// next pass repeats 2-4. A crash after 4 leaves the local file on disk but
// uncataloged: startup deletes it because a remote row names its object
// (store_open.cc), so a segment is never both local and remote.
Status Uploader::RotateOne(const storage::FilePtr& f, RotateStats* rs) {
  auto step = [&](int n) { return TEST_step_hook ? TEST_step_hook(n) : Status::OK(); };
  const storage::CatalogEntry& e = f->entry;
  const std::string key = SegmentKey(node_id_, e.path);
  const std::string url = store_->PublicUrl(key);
  LOGE_RETURN_IF_ERROR(step(1));

  // 2. Upload.
  LOGE_ASSIGN_OR_RETURN(uint64_t size, fs_->FileSize(f->local_path));
  LOGE_RETURN_IF_ERROR(store_->PutFile(key, f->local_path).WithContext("upload " + f->local_path));
  LOGE_RETURN_IF_ERROR(step(2));

  // 3. Verify.
  LOGE_ASSIGN_OR_RETURN(ObjectInfo info, store_->HeadObject(key));
  if (info.size != size) {
    return Status::Corruption("uploaded " + key + " has " + std::to_string(info.size) + " bytes, the local file " +
                              std::to_string(size));
  }
  LOGE_RETURN_IF_ERROR(step(3));

  // 4. Flip the catalog row. NotFound: a previous pass flipped it and was
  // abandoned before 5 (the row is remote already); finish that pass. The
  // row takes every filter: a remote file's stay in memory (a local one's
  // group filters may be in the file alone, FileFilters::lazy).
  LOGE_ASSIGN_OR_RETURN(storage::FileFiltersPtr filters, f->GroupFilters(nullptr));
  if (filters && filters->mapped()) {
    // On the heap, as the catalog gives them after a restart: a mapping of
    // the local file would keep its bytes on disk after it is deleted.
    LOGE_ASSIGN_OR_RETURN(storage::FileFilters copy, storage::FileFilters::Deserialize(filters->Serialize()));
    filters = std::make_shared<const storage::FileFilters>(std::move(copy));
  }
  Status flip = catalog_->SetRemote(e.id, url, filters);
  if (flip.code() == Code::kNotFound) {
    LOGE_ASSIGN_OR_RETURN(auto rows, catalog_->List());
    auto it = std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.id == e.id; });
    if (it == rows.end() || it->tier != storage::Tier::kRemote || it->path != url) return flip;
  } else if (!flip.ok()) {
    return flip;
  }
  LOGE_RETURN_IF_ERROR(step(4));

  // 5. Publish.
  storage::CatalogEntry remote = e;
  remote.tier = storage::Tier::kRemote;
  remote.path = url;
  remote.filters = filters;
  storage::FilePtr old = files_->Swap(std::make_shared<const storage::FileHandle>(std::move(remote), "", nullptr));
  if (old) {
    MutexLock l(&retire_mu_);
    retiring_.push_back(Retiring{std::move(old), steady_() + opts_.grace});
  }
  LOGE_RETURN_IF_ERROR(step(5));
  rs->uploaded++;
  rs->bytes += size;
  spdlog::info("S3 tier: rotated {} ({} bytes) to {}", e.path, size, url);
  return Status::OK();
}

Result<ReconcileStats> Uploader::Reconcile() {
  MutexLock pass(&pass_mu_);
  return ReconcileLocked();
}

Result<ReconcileStats> Uploader::ReconcileLocked() {
  ReconcileOptions ro;
  ro.node_id = node_id_;
  ro.open_unknown = open_unknown_;
  auto r = ReconcileRemote(store_, catalog_, files_, ro);
  MutexLock l(&stats_mu_);
  if (!r.ok()) {
    stats_.reconcile_failures++;
  } else {
    stats_.adopted += r->adopted + r->adopted_opened;
    stats_.dropped += r->dropped;
    stats_.reconcile_failures += r->retired_failed;  // replaced objects left for the next pass
  }
  return r;
}

size_t Uploader::RetireExpired() {
  std::vector<storage::FilePtr> released;  // dropped after the lock: the last release may unlink
  {
    MutexLock l(&retire_mu_);
    auto now = steady_();
    auto it = std::stable_partition(retiring_.begin(), retiring_.end(),
                                    [&](const Retiring& r) { return r.deadline > now; });
    for (auto i = it; i != retiring_.end(); ++i) released.push_back(std::move(i->local));
    retiring_.erase(it, retiring_.end());
  }
  for (const auto& f : released) f->MarkObsolete();
  {
    MutexLock l(&stats_mu_);
    stats_.local_deleted += released.size();
  }
  return released.size();
}

size_t Uploader::TEST_retiring() const {
  MutexLock l(&retire_mu_);
  return retiring_.size();
}

UploaderStats Uploader::stats() const {
  MutexLock l(&stats_mu_);
  return stats_;
}

}  // namespace loge::tier
