#include "store/retention.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "io/file_system.h"
#include "storage/catalog.h"
#include "storage/catalog_worker.h"

namespace loge::store {

Retention::Retention(RetentionOptions opts, std::string dir, io::FileSystem* fs, storage::Catalog* catalog,
                     storage::FileSet* files, storage::CatalogWorker* remote,
                     std::function<uint64_t()> safe_wal_seq)
    : opts_(std::move(opts)),
      dir_(std::move(dir)),
      fs_(fs),
      catalog_(catalog),
      files_(files),
      remote_(remote),
      safe_wal_seq_(std::move(safe_wal_seq)) {}

Retention::~Retention() { Stop(); }

int64_t Retention::Floor() const {
  if (opts_.max_age <= Duration(0)) return std::numeric_limits<int64_t>::min();
  const int64_t now = opts_.now_ns ? opts_.now_ns() : NowNanos();
  return now - std::chrono::duration_cast<std::chrono::nanoseconds>(opts_.max_age).count();
}

void Retention::Start() {
  if (!enabled() || opts_.interval <= Duration(0) || thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token st) { Loop(st); });
}

void Retention::Stop() {
  {
    MutexLock l(&mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  thread_ = std::jthread();  // request stop and join
}

void Retention::Loop(std::stop_token st) {
  for (;;) {
    {
      MutexLock l(&mu_);
      cv_.wait_for(l.native(), st, opts_.interval, [&]() REQUIRES(mu_) { return stopping_; });
      if (stopping_ || st.stop_requested()) return;
    }
    (void)RunOnce();  // failures are logged and counted
  }
}

RetentionStats Retention::stats() const {
  MutexLock l(&mu_);
  RetentionStats s = stats_;
  return s;
}

bool Retention::Deletable(const storage::FilePtr& f) const {
  const auto& e = f->entry;
  if (e.tier == storage::Tier::kRemote) return remote_ != nullptr;
  // A flush file whose WAL records are not yet below the watermark: replay
  // would bring its rows back. Its merge (or the next checkpoint) comes first.
  if (e.kind == storage::FileKind::kFlush && safe_wal_seq_ && e.max_wal_seq > safe_wal_seq_()) return false;
  return true;
}

Status Retention::RunOnce() {
  MutexLock pass(&pass_mu_);
  Status first;
  auto note = [&](const Status& st) {
    if (!st.ok() && first.ok()) first = st;
  };
  const int64_t floor = Floor();
  std::vector<storage::FilePtr> all = files_->Snapshot();
  std::vector<int64_t> gone;  // ids deleted (or given up on) in this pass
  // 1. By age: every file whose newest row is older than the floor.
  for (const auto& f : all) {
    if (f->entry.max_ts >= floor || !Deletable(f)) continue;
    gone.push_back(f->entry.id);
    note(DeleteFile(f));
  }
  // 2. By size: local files, then remote ones.
  if (opts_.max_local_bytes > 0) note(BoundSize(all, gone, storage::Tier::kLocal, opts_.max_local_bytes));
  if (opts_.max_remote_bytes > 0 && remote_) {
    note(BoundSize(all, gone, storage::Tier::kRemote, opts_.max_remote_bytes));
  }
  MutexLock l(&mu_);
  stats_.passes++;
  return first;
}

Status Retention::BoundSize(const std::vector<storage::FilePtr>& all, const std::vector<int64_t>& gone,
                            storage::Tier tier, uint64_t bound) {
  std::vector<storage::FilePtr> files;
  uint64_t bytes = 0;
  for (const auto& f : all) {
    if (f->entry.tier != tier) continue;
    if (std::find(gone.begin(), gone.end(), f->entry.id) != gone.end()) continue;
    bytes += f->entry.bytes;
    files.push_back(f);
  }
  std::sort(files.begin(), files.end(), [](const storage::FilePtr& a, const storage::FilePtr& b) {
    return a->entry.max_ts != b->entry.max_ts ? a->entry.max_ts < b->entry.max_ts : a->entry.id < b->entry.id;
  });
  Status first;
  for (const auto& f : files) {
    if (bytes <= bound) break;
    if (!Deletable(f)) continue;
    Status st = DeleteFile(f);
    if (st.ok()) bytes -= std::min(bytes, f->entry.bytes);
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

Status Retention::DeleteFile(const storage::FilePtr& f) {
  const std::vector<int64_t> ids = {f->entry.id};
  if (!files_->Claim(ids)) {
    MutexLock l(&mu_);
    stats_.skipped_claimed++;
    return Status::OK();  // a merge or the rotation holds it: next pass
  }
  const bool remote = f->entry.tier == storage::Tier::kRemote;
  Status st = remote ? DeleteRemote(f) : DeleteLocal(f);
  files_->Unclaim(ids);
  MutexLock l(&mu_);
  if (!st.ok()) {
    stats_.failures++;
    spdlog::error("retention: could not delete {} (it stays until the next pass): {}", f->entry.path,
                  st.ToString());
    return st;
  }
  stats_.files_deleted++;
  stats_.rows_deleted += f->entry.rows;
  stats_.bytes_deleted += f->entry.bytes;
  if (remote) stats_.remote_deleted++;
  return Status::OK();
}

// A local file, in crash-safe order (the file is claimed):
//  1. one catalog transaction removes its row and records its name as
//     retired — from here on it is gone for every restart;
//  2. the FileSet drops it: queries stop seeing it, and it is unlinked when
//     the last query reading it lets go (FileHandle);
//  3. its retired name is forgotten once the file is off the disk.
// A crash before 1 leaves the file cataloged: the next pass deletes it
// (queries are clipped by the floor meanwhile). A crash after 1 leaves a
// retired file on disk: recovery deletes it and never re-registers it.
Status Retention::DeleteLocal(const storage::FilePtr& f) {
  auto step = [&](int n) { return TEST_step_hook ? TEST_step_hook(n) : Status::OK(); };
  LOGE_RETURN_IF_ERROR(step(1));
  LOGE_RETURN_IF_ERROR(catalog_->ReplaceRetiring({f->entry.id}, {f->entry.path}, nullptr));
  LOGE_RETURN_IF_ERROR(step(2));
  files_->Replace({f->entry.id}, nullptr);
  LOGE_RETURN_IF_ERROR(step(3));
  if (!fs_->Exists(io::JoinPath(dir_, f->entry.path))) (void)catalog_->ForgetRetired({f->entry.path});
  return Status::OK();
}

// A remote file, in crash-safe order (the file is claimed):
//  1. the object is deleted from the bucket (through the uploader, between
//     its rotation and reconcile passes; OK when it is gone already);
//  2. one catalog transaction removes its row;
//  3. the FileSet drops it.
// The object goes first so that nothing can bring it back: a crash after 1
// leaves a row naming a missing object, which the next pass (or the next
// reconcile, which drops rows whose object is not listed) removes; queries
// are clipped by the floor and never open it. Deleting the row first would
// let a reconcile adopt the still-listed object again.
Status Retention::DeleteRemote(const storage::FilePtr& f) {
  auto step = [&](int n) { return TEST_step_hook ? TEST_step_hook(n) : Status::OK(); };
  LOGE_RETURN_IF_ERROR(step(1));
  LOGE_RETURN_IF_ERROR(remote_->DeleteRemote(f->entry.path));
  LOGE_RETURN_IF_ERROR(step(2));
  LOGE_RETURN_IF_ERROR(catalog_->Remove({f->entry.id}));
  LOGE_RETURN_IF_ERROR(step(3));
  files_->Replace({f->entry.id}, nullptr);
  return Status::OK();
}

}  // namespace loge::store
