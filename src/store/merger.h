// Merger: runs the merge policy (merge_policy.h) against the catalog: picks
// files, merges them (storage/merge.h), commits the result and swaps it in
// for queries.
//
// DESIGN (threads, wake-ups): Start() runs `threads` worker threads. Each
// sleeps until Wake() (a flush file was published), the re-check interval
// passes, or Stop(); then it runs merges while the policy picks one. Picks
// are made under mu_ and their files claimed in the FileSet, so neither two
// merges nor a merge and the S3 rotation take the same file; the merge
// itself (file, compression, SQLite work) runs without any lock. MergeAll()
// runs forced merges on the caller's thread (and waits for the workers'
// running merges) until the layout is final.
//
// A failed merge is logged and counted, its files are left as they were
// (nothing is lost: the inputs stay cataloged), and the next attempt waits
// a backoff that doubles up to a minute.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"
#include "core/time.h"
#include "storage/file_set.h"
#include "storage/merge.h"
#include "store/merge_policy.h"

namespace loge::io {
class FileSystem;
}
namespace loge::storage {
class Catalog;
class CatalogWorker;
class FilterCache;
}  // namespace loge::storage

namespace loge::store {

struct MergerOptions {
  std::string dir;                 // the data directory
  Duration interval = std::chrono::seconds(10);  // policy re-check; 0 = no worker threads
  int threads = 2;                 // merges at once
  // Nice value of the worker threads (0 = as the process): merges yield
  // the CPU to pushes and queries and take what they leave.
  int nice = 10;
  int level = 3;                   // zstd level of merged segments
  size_t group_lines = 1024;       // filter groups
  MergePolicy policy;
  io::FileSystem* fs = nullptr;    // nullptr = io::DefaultFileSystem()
  // Flush files holding WAL seqs above this are not merged yet: replay
  // recognises stored parts only by the flush file's own meta.
  std::function<uint64_t()> safe_wal_seq;
  // Where a published segment's group filters go (null: they stay with it).
  std::shared_ptr<storage::FilterCache> filter_cache;
  // An input found damaged when a merge failed with Corruption
  // (storage::VerifyDataFile): the store quarantines it, and the next pick
  // goes on without it. Null: the merge just fails and is retried.
  std::function<void(int64_t id, const std::string& name, const Status& why)> on_damaged;
  // The object store's worker (the S3 uploader; not owned): a rewrite of a
  // remote segment downloads and deletes its object through it. Null, or a
  // worker without an object store: remote segments are not rewritten.
  storage::CatalogWorker* remote = nullptr;
};

// What a rewrite (Merger::Rewrite) left out.
struct RewriteResult {
  uint64_t rows_deleted = 0;
  uint64_t bytes_deleted = 0;  // bytes of their lines (uncompressed text)
};

struct MergerStats {
  uint64_t merges = 0;
  uint64_t files_in = 0;
  uint64_t rows = 0;
  uint64_t failures = 0;
  double seconds = 0;       // wall time of completed merges
  double cpu_seconds = 0;   // CPU time of their threads
  uint64_t running = 0;
};

class Merger {
 public:
  // Does not own catalog or files; both must outlive it.
  Merger(const MergerOptions& opts, storage::Catalog* catalog, storage::FileSet* files);
  ~Merger();  // Stop()s
  Merger(const Merger&) = delete;
  Merger& operator=(const Merger&) = delete;

  void Start();
  void Stop() EXCLUDES(mu_);
  // A flush file was published: re-check the policy now.
  void Wake() EXCLUDES(mu_);

  // Per stream, the rows a rewrite leaves out (storage::MergeOptions::drop).
  using RowDropFn = std::function<storage::StreamRowDrop(std::string_view labels_json)>;
  // Rewrites the file `f` without the rows `drop` names (a delete request:
  // deletes.h; per-stream retention: retention.h) through the crash-safe
  // steps of a merge; the output is a local segment of the file's level (a
  // flush file's is 1), or nothing when no row is left. A remote segment
  // (CanRewriteRemote) is downloaded first, and its object deleted after
  // the swap (merger_rewrite.cc has the steps). *out: what was left out.
  // Unavailable when a merge or the rotation holds the file, or a flush
  // file's WAL records are above the checkpoint (try later);
  // InvalidArgument for a remote file without an object store. The failure
  // is logged and counted.
  Status Rewrite(const storage::FilePtr& f, const RowDropFn& drop, RewriteResult* out) EXCLUDES(mu_);
  // True when Rewrite can take remote segments (an object store is set).
  bool CanRewriteRemote() const;
  // Deletes the objects of remote segments a rewrite replaced but could not
  // delete (the delete failed, or a crash came first; the reconcile deletes
  // them too), and forgets them. OK when none is left; otherwise the first
  // failure (logged). Objects of rows still published are left to the
  // rewrite that is swapping them.
  Status FinishRetiredObjects() EXCLUDES(mu_);

  // Forced merges until none is left; waits for running ones.
  Status MergeAll() EXCLUDES(mu_);

  // Blocks while `over()` holds (the flush backlog is at its cap), waking
  // when a merge ends, until `deadline` or Stop(). True once over() is
  // false; false at the deadline or on Stop(). over() is called without
  // mu_ held.
  bool WaitWhile(const std::function<bool()>& over, std::chrono::steady_clock::time_point deadline) EXCLUDES(mu_);

  // True when a merge is running or the policy would start one now.
  bool HasWork() const EXCLUDES(mu_);

  MergerStats stats() const EXCLUDES(mu_);
  Backlog backlog() const;
  bool enabled() const { return opts_.interval.count() > 0; }

  // Called between the crash-safe steps of a merge (see merger.cc) with the
  // step number; a non-OK status abandons the merge right there, as a crash
  // would (tests).
  std::function<Status(int step)> TEST_step_hook;

 private:
  void Loop(std::stop_token st);
  // Picks and runs one merge. Returns false when the policy picks nothing.
  Result<bool> RunOne(bool force) EXCLUDES(mu_);
  std::vector<MergeFile> Candidates() const REQUIRES(mu_);
  Status MergeClaimed(std::vector<storage::FilePtr> inputs, const std::vector<int64_t>& ids, int64_t id,
                      int output_level, const std::string& reason, const RowDropFn& drop, uint64_t* rows,
                      RewriteResult* deleted) EXCLUDES(mu_);
  // Downloads the remote inputs among `inputs` next to their output
  // (FetchName); *paths gets each input's local path, *fetched the
  // downloads (the caller removes them).
  Status FetchRemoteInputs(const std::vector<storage::FilePtr>& inputs, std::vector<std::string>* paths,
                           std::vector<std::string>* fetched);
  // Steps 6-7 of a remote rewrite: deletes the replaced objects, then
  // forgets their retired keys.
  Status DeleteReplacedObjects(const std::vector<std::string>& urls, const std::function<Status(int)>& step);
  // After a merge failed with Corruption: verifies each input and hands the
  // damaged ones to opts_.on_damaged. True when it found one.
  bool QuarantineDamagedInputs(const std::vector<storage::FilePtr>& inputs);
  // A commit that reported failure may still have landed (an fsync error
  // after SQLite wrote its journal): looks the output up in the catalog.
  // Not there: the output file is removed, so no file outside the catalog
  // is a copy of rows it holds (its inputs are still cataloged). Sets
  // *landed_id when it is there.
  Status ResolveFailedCommit(const std::string& name, const std::string& path, const Status& failure,
                             int64_t* landed_id);

  const MergerOptions opts_;
  storage::Catalog* const catalog_;
  storage::FileSet* const files_;
  io::FileSystem* const fs_;
  mutable Mutex mu_;
  std::condition_variable_any cv_;  // wake-up, a merge finished, or stop
  bool wake_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  MergerStats stats_ GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point retry_after_ GUARDED_BY(mu_){};
  Duration backoff_ GUARDED_BY(mu_) = Duration(0);
  std::vector<std::jthread> threads_;
};

}  // namespace loge::store
