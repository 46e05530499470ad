// Merger::Rewrite: one file rewritten without the rows a delete request or
// a per-stream retention rule removes, local or remote (merger.h). The
// merge itself is MergeClaimed (merger.cc); here are the claim, the
// download of a remote segment and the deletion of its replaced object.
#include "store/merger.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <string>

#include "io/file_system.h"
#include "storage/catalog.h"
#include "storage/catalog_worker.h"
#include "storage/file_set.h"
#include "store/filename.h"

namespace loge::store {

namespace {

// The file name ending an object URL (no query string).
std::string UrlFileName(std::string_view url) {
  url = url.substr(0, url.find('?'));
  return std::string(url.substr(url.rfind('/') + 1));
}

}  // namespace

Status Merger::FetchRemoteInputs(const std::vector<storage::FilePtr>& inputs, std::vector<std::string>* paths,
                                 std::vector<std::string>* fetched) {
  for (const auto& f : inputs) {
    if (f->entry.tier != storage::Tier::kRemote) {
      paths->push_back(f->local_path);
      continue;
    }
    if (!CanRewriteRemote()) {
      return Status::InvalidArgument("rewrite: " + f->entry.path + " is remote, and no object store is set");
    }
    const std::string path = io::JoinPath(opts_.dir, FetchName(UrlFileName(f->entry.path)));
    fetched->push_back(path);
    LOGE_RETURN_IF_ERROR(opts_.remote->FetchRemote(f->entry.path, path).WithContext("rewrite: download"));
    paths->push_back(path);
  }
  return Status::OK();
}

Status Merger::DeleteReplacedObjects(const std::vector<std::string>& urls, const std::function<Status(int)>& step) {
  if (urls.empty()) return Status::OK();
  LOGE_RETURN_IF_ERROR(step(6));
  for (const auto& u : urls) {
    if (Status st = opts_.remote->DeleteRemote(u); !st.ok()) {
      spdlog::error("rewrite: cannot delete the replaced object {} (it is recorded as retired: the reconcile and "
                    "the next delete pass delete it, and nothing adopts it): {}", u, st.ToString());
      return st;
    }
  }
  LOGE_RETURN_IF_ERROR(step(7));
  if (Status st = catalog_->ForgetRetiredObjects(urls); !st.ok()) {
    // Harmless: the reconcile forgets a retired key whose object is gone.
    spdlog::warn("rewrite: cannot forget {} retired object keys (the reconcile will): {}", urls.size(), st.ToString());
  }
  spdlog::info("rewrite: deleted {} replaced object(s), first {}", urls.size(), urls.front());
  return Status::OK();
}

bool Merger::CanRewriteRemote() const { return opts_.remote != nullptr && opts_.remote->HasObjectStore(); }

Status Merger::FinishRetiredObjects() {
  if (!CanRewriteRemote()) return Status::OK();
  LOGE_ASSIGN_OR_RETURN(auto urls, catalog_->ListRetiredObjects());
  if (urls.empty()) return Status::OK();
  std::set<std::string> published;  // a rewrite between its commit and its publish
  for (const auto& f : files_->Snapshot()) published.insert(f->entry.path);
  Status first;
  std::vector<std::string> gone;
  for (const auto& u : urls) {
    if (published.count(u)) continue;
    if (Status st = opts_.remote->DeleteRemote(u); !st.ok()) {
      spdlog::error("rewrite: cannot delete the replaced object {} (retried next pass): {}", u, st.ToString());
      if (first.ok()) first = st;
      continue;
    }
    gone.push_back(u);
  }
  if (!gone.empty()) {
    LOGE_RETURN_IF_ERROR(catalog_->ForgetRetiredObjects(gone));
    spdlog::info("rewrite: deleted {} replaced object(s) a crash or a failure had left", gone.size());
  }
  if (first.ok() && gone.size() < urls.size()) return Status::Unavailable("a replaced object is still being swapped");
  return first;
}

// A remote input (a rewrite of a segment in S3: Rewrite) takes these steps,
// in crash-safe order (the file is claimed, so neither the rotation nor a
// merge nor retention touches it):
//  1. download the object to <name>.fetch.tmp (FetchRemoteInputs);
//  2. merge it, without the dropped rows, into a new local
//     segment-<minTs>-<maxTs>-<id>.sqlite.zst (durable under its name);
//  3. one catalog transaction removes the remote row, records its URL as a
//     retired object and adds the new local row (none when no row is
//     left) (Catalog::ReplaceRetiring);
//  4. publish the swap to queries;
//  5. delete the object through the uploader, under its pass lock, so no
//     reconcile lists it in between (CatalogWorker::DeleteRemote);
//  6. forget the retired URL.
// The rotation later uploads the new local segment under its own key.
// A crash before 3 leaves the remote row (its object untouched) and an
// uncataloged segment and a *.tmp download, which recovery deletes. A
// crash after 3 leaves the object in the bucket with no row naming it, but
// recorded as retired: the reconcile (at startup, and every pass) deletes
// it and never adopts it, so the deleted rows do not come back nor the
// kept ones twice; the next delete pass (FinishRetiredObjects) does too.
// TEST_step_hook numbers (shared with a merge's): 1 before the download,
// 2 before the merge, 4 the commit, 5 before the publish, 6 before the
// object's deletion, 7 before its key is forgotten.
Status Merger::Rewrite(const storage::FilePtr& f, const RowDropFn& drop, RewriteResult* out) {
  const std::vector<int64_t> ids = {f->entry.id};
  const uint64_t safe = opts_.safe_wal_seq ? opts_.safe_wal_seq() : UINT64_MAX;
  if (f->entry.tier != storage::Tier::kLocal && !CanRewriteRemote()) {
    return Status::InvalidArgument("rewrite: " + f->entry.path + " is remote, and no object store is set");
  }
  if (f->entry.kind == storage::FileKind::kFlush && f->entry.max_wal_seq > safe) {
    // Rewritten now, WAL replay would bring its rows back after a crash.
    return Status::Unavailable("rewrite: " + f->entry.path + " waits for the next WAL checkpoint");
  }
  int64_t id = 0;
  {
    MutexLock l(&mu_);
    if (stopping_) return Status::Unavailable("shutting down");
    if (!files_->Claim(ids)) return Status::Unavailable("rewrite: a merge or the rotation holds " + f->entry.path);
    // Claimed now, but is it still the file the caller saw? A merge may have
    // retired it, or the rotation moved it, in between.
    bool current = false;
    for (const auto& g : files_->Snapshot()) {
      current = current || (g->entry.id == f->entry.id && g->entry.path == f->entry.path);
    }
    if (!current) {
      files_->Unclaim(ids);
      return Status::Unavailable("rewrite: " + f->entry.path + " was merged or moved meanwhile");
    }
    auto next = catalog_->GetState(storage::kNextSegmentIdKey, 1);
    Status st = next.ok() ? catalog_->SetState(storage::kNextSegmentIdKey, *next + 1) : next.status();
    if (!st.ok()) {
      files_->Unclaim(ids);
      return st;
    }
    id = *next;
    stats_.running++;
  }
  uint64_t rows = 0;
  const int level = f->entry.kind == storage::FileKind::kFlush ? 1 : std::max(f->entry.level, 1);
  Status st = MergeClaimed({f}, ids, id, level, "rewrite", drop, &rows, out);
  files_->Unclaim(ids);
  MutexLock l(&mu_);
  stats_.running--;
  if (!st.ok()) {
    stats_.failures++;
    spdlog::error("rewrite of {} failed (it stays as it is, or its object is left for the reconcile): {}",
                  f->entry.path, st.ToString());
  }
  cv_.notify_all();
  return st;
}

}  // namespace loge::store
