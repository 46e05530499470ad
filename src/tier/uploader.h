// Uploader: the cold tier's write side. Rotates local segments older than
// --s3-rotate-age into the object store, flips their catalog rows to the
// object's URL, deletes the local copy after a grace window, and keeps the
// catalog's remote rows in step with the bucket (ReconcileRemote).
//
// DESIGN (threads): Start() resolves the node id, runs one reconcile pass
// (its failure is logged, never fatal: ingest must not depend on S3), then
// starts one thread. The thread wakes every rotate_interval for a full pass
// (rotate, reconcile, retire), and in between at the earliest end of a
// grace window to retire local copies; Stop() wakes and joins it. Passes —
// from the thread or from RunNow() (admin endpoint, tests) — are serialised
// by pass_mu_, so rotation and reconcile never interleave (reconcile would
// otherwise drop a row flipped after its listing). Stop() lets a running
// upload finish (bounded by the store's timeouts) and ends the pass there. Network, file and SQLite
// work happen under pass_mu_ only; retiring_ has its own lock so that
// stats and TEST_ accessors never wait for a pass.
//
// Which segments rotate: FileKind::kSegment rows of Tier::kLocal whose
// max_ts (newest row) is at least rotate_age older than the wall clock. The
// whole segment is then past the age, so a query of recent data never
// touches S3; a backfill of old data (old timestamps) rotates at the next
// pass. sealed_at was not used: it says when a file was written, not what
// time its rows cover, which is what the age is about.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"
#include "storage/catalog.h"
#include "storage/catalog_worker.h"
#include "storage/file_set.h"
#include "tier/reconcile.h"

namespace loge::io {
class FileSystem;
}

namespace loge::tier {

class ObjectStore;

struct UploaderOptions {
  // --s3-rotate-age (default 1h): a local segment goes to S3 once its newest
  // row (max_ts) is this old.
  std::chrono::nanoseconds rotate_age = std::chrono::hours(1);
  // --s3-rotate-interval (default 1m): time between passes. 0 = no thread
  // (passes run only through RunNow).
  std::chrono::milliseconds rotate_interval = std::chrono::minutes(1);
  // --s3-rotate-grace (default 1m): how long a rotated segment's local copy
  // stays after the catalog flip, so queries that planned with it finish
  // reading it; it is then deleted when the last reader lets go.
  std::chrono::milliseconds grace = std::chrono::minutes(1);
  // --node-id (default ""): this node's key segment. "" = the id persisted in
  // the catalog state (kNodeIdKey), generated at random on first start.
  std::string node_id;
  io::FileSystem* fs = nullptr;  // nullptr = io::DefaultFileSystem()
};

struct RotateStats {
  uint64_t uploaded = 0;  // segments flipped to remote
  uint64_t bytes = 0;     // their bytes
  uint64_t failed = 0;    // segments left local after a failed upload, check or flip
  uint64_t waiting = 0;   // local segments not old enough yet
  Status first_error;     // of the failed ones
};

struct UploaderStats {
  uint64_t passes = 0;
  uint64_t uploaded = 0;
  uint64_t bytes_uploaded = 0;
  uint64_t upload_failures = 0;
  uint64_t local_deleted = 0;  // local copies released after their grace window
  uint64_t adopted = 0;        // remote rows added by reconcile
  uint64_t dropped = 0;        // remote rows removed by reconcile
  uint64_t reconcile_failures = 0;
};

// Catalog state key of the persisted node id (64 random bits, as an integer).
inline constexpr const char* kNodeIdKey = "node_id";

class Uploader final : public storage::CatalogWorker {
 public:
  // store is not owned and must outlive the uploader.
  Uploader(UploaderOptions opts, ObjectStore* store);
  ~Uploader() override;  // Stop()s
  Uploader(const Uploader&) = delete;
  Uploader& operator=(const Uploader&) = delete;

  // storage::CatalogWorker. Start resolves the node id, aborts multipart
  // uploads a crash left under this node's keys, reconciles, and starts the
  // thread. It fails only on a bad node id or a catalog error, never because
  // the store is unreachable.
  Status Start(storage::Catalog* catalog, storage::FileSet* files) override;
  void Stop() override;
  // One full pass (rotate, reconcile, retire) now. Counters: uploaded,
  // upload_failed, waiting, adopted, dropped, pending, retired_deleted,
  // local_deleted. An error when a segment failed or reconcile failed: its
  // Status, with the counts in the message.
  Result<std::vector<std::pair<std::string, int64_t>>> RunNow() override;
  // Retention (store/retention.h): deletes the object of a remote row named
  // by `url` — a URL under this store's PublicUrl(""), or one whose last two
  // path segments are "<node>/<name>". Serialised with passes (pass_mu_), so
  // a reconcile never adopts an object between its listing and this delete.
  Status DeleteRemote(const std::string& url) override EXCLUDES(pass_mu_);
  // A rewrite of a remote segment (store/merger.h): downloads the object
  // `url` names (as DeleteRemote reads it) into `path`, in ranged GETs of
  // kFetchChunkBytes. Not under pass_mu_: the object is immutable, and the
  // caller holds the row's claim.
  Status FetchRemote(const std::string& url, const std::string& path) override;
  bool HasObjectStore() const override { return true; }

  // Uploads, verifies and flips every local segment past the age (below).
  // A per-segment failure is counted and logged, and the segment stays local
  // for the next pass; the pass stops early when the store is unreachable.
  // A non-OK Result only for a catalog read failure.
  Result<RotateStats> Rotate() EXCLUDES(pass_mu_);
  // ReconcileRemote with this node's id.
  Result<ReconcileStats> Reconcile() EXCLUDES(pass_mu_);
  // Releases the local copies whose grace window has passed: each is marked
  // obsolete and is unlinked when the last query holding it lets go.
  // Returns how many were released.
  size_t RetireExpired() EXCLUDES(retire_mu_);

  // The node id in use (after Start).
  const std::string& node_id() const { return node_id_; }
  UploaderStats stats() const EXCLUDES(stats_mu_);

  // Called after each crash-safe step of a segment's rotation (see
  // Uploader::RotateOne in uploader.cc) with the step number; a non-OK status
  // abandons the pass right there, as a crash would (tests).
  std::function<Status(int step)> TEST_step_hook;
  // Replaces the wall clock (rotate age, unix ns) and the steady clock
  // (grace windows). Set before Start.
  void TEST_SetClocks(std::function<int64_t()> wall_ns,
                      std::function<std::chrono::steady_clock::time_point()> steady);
  // Local copies waiting for their grace window.
  size_t TEST_retiring() const EXCLUDES(retire_mu_);
  // Replaces ReadRemoteEntry for objects of an unknown naming (tests).
  void TEST_SetOpenUnknown(
      std::function<Result<storage::CatalogEntry>(const std::string& url, uint64_t size)> fn) {
    open_unknown_ = std::move(fn);
  }

 private:
  struct Retiring {
    storage::FilePtr local;  // the handle queries used before the flip
    std::chrono::steady_clock::time_point deadline;
  };

  // The object key a remote row's URL names: the part after this store's
  // PublicUrl(""), or (another URL base) its last two path segments.
  Result<std::string> KeyOfUrl(const std::string& url) const;
  Status ResolveNodeId();
  // Aborts multipart uploads under this node's keys that a crash left
  // unfinished (their parts are billed until aborted). Failures are logged.
  void AbortLeftoverUploads();
  Status RotateOne(const storage::FilePtr& f, RotateStats* rs) REQUIRES(pass_mu_);
  Result<ReconcileStats> ReconcileLocked() REQUIRES(pass_mu_);
  void Loop(std::stop_token st);
  std::chrono::steady_clock::time_point NextRetireDeadline() const EXCLUDES(retire_mu_);

  const UploaderOptions opts_;
  ObjectStore* const store_;
  io::FileSystem* const fs_;
  // Set by Start, read-only afterwards.
  storage::Catalog* catalog_ = nullptr;
  storage::FileSet* files_ = nullptr;
  std::string node_id_;
  std::function<int64_t()> wall_ns_;
  std::function<std::chrono::steady_clock::time_point()> steady_;
  std::function<Result<storage::CatalogEntry>(const std::string&, uint64_t)> open_unknown_;

  Mutex pass_mu_;  // one pass at a time
  mutable Mutex retire_mu_;
  std::vector<Retiring> retiring_ GUARDED_BY(retire_mu_);
  mutable Mutex stats_mu_;
  UploaderStats stats_ GUARDED_BY(stats_mu_);
  std::atomic<bool> stopping_{false};  // Stop() called: a running pass ends after its current segment
  std::jthread thread_;
};

}  // namespace loge::tier
