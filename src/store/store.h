// Store: the data directory as a whole — the write-ahead log, the head
// (unflushed rows), flush files, merges in levels, the catalog — behind one
// object that takes pushes and serves queries (query::DataSource).
//
// DESIGN (threads, queues, wake-ups):
//  - Push() runs on the caller's thread (an HTTP handler): it reserves head
//    bytes (ingest::Head, waiting for room: backpressure), appends to the WAL
//    (waiting for the group-commit fsync when durable), then inserts into the
//    head. When it returns OK the rows are durable and visible to queries.
//  - A ticker thread seals head batches older than flush_interval.
//  - flush_workers threads write sealed batches as flush files (level 0),
//    register them and retire the batches (store.cc, "Flush"). A worker
//    waits before writing while the merge backlog is at its cap, which is
//    how a store whose merges fall behind slows its pushes.
//  - The Merger (merger.h) runs merge_threads threads that merge flush files
//    into segments and small segments into larger ones (merge_policy.h).
//  - The Checkpointer (wal/) advances the WAL watermark and deletes WAL
//    files below it.
//
// On-disk names: filename.h. Crash order of each step: above the function
// that does it (flush: store.cc; merge: merger.cc; recovery: recovery.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/metrics.h"
#include "core/status.h"
#include "core/time.h"
#include "core/types.h"
#include "query/engine.h"
#include "store/disk_guard.h"
#include "store/deletes.h"
#include "store/retention.h"

namespace loge::storage {
class CatalogWorker;
}

namespace loge::io {
class FileSystem;
}

namespace loge::store {

class PushObserver;

struct StoreOptions {
  std::string output_path = "tmp/";  // --output-path: files and wal/ live here
  io::FileSystem* fs = nullptr;      // nullptr = io::DefaultFileSystem(); tests inject faults
  std::chrono::milliseconds flush_retry_delay{200};  // first wait after a failed flush (doubles)
  int buckets = 4;                   // --buckets: head shards (by stream fingerprint)
  size_t payload_size = 1000000;     // --payload-size: rows that seal a head batch
  Duration flush_interval = std::chrono::seconds(1);  // --flush-interval: oldest a head batch gets
  int flush_level = 1;               // zstd level of flush files (--flush-compression)
  int flush_workers = 2;             // --flush-workers
  size_t flush_queue = 4;            // --flush-queue: sealed batches waiting for a worker
  bool durable = true;               // --durable: fsync the WAL before acknowledging
  Duration checkpoint_interval = std::chrono::seconds(2);  // --checkpoint-interval
  bool drop_on_backpressure = false;  // --drop-on-backpressure: 429 at once when saturated
  size_t max_head_bytes = 48ull << 20;  // --max-head-size: unflushed bytes held before pushes wait
  Duration backpressure_wait = std::chrono::seconds(5);  // --backpressure-wait

  // Merges (merge_policy.h, docs/merges.md).
  Duration merge_interval = std::chrono::seconds(10);  // --compact-interval: policy re-check; 0 = no background merges
  int merge_level = 1;                // --compact-level: zstd level of merged segments (docs/benchmarks.md)
  size_t group_lines = 2048;          // --compact-block-filter-lines: lines per filter group (docs/format-segment.md)
  int merge_threads = 2;              // --merge-threads
  int merge_nice = 10;                // --merge-nice: nice value of merge threads (0 = none)
  uint64_t segment_bytes = 256ull << 20;  // --segment-size: line bytes a merged segment aims at
  size_t flush_merge_files = 64;      // --compact-min-files: flush files that trigger a merge (as do segment_bytes of them)
  Duration flush_merge_age = std::chrono::minutes(5);  // oldest a flush file waits for a merge
  size_t max_backlog_files = 256;     // --max-merge-backlog: flush files held before flushes wait
  // --filter-cache-size: bytes of local segments' group filters kept in
  // memory (storage/filter_cache.h); the rest are read from the file when a
  // needle's summary check passes.
  size_t filter_cache_bytes = 64ull << 20;
  // --filter-resident-size: bytes of mapped filter pages the process keeps
  // resident before it gives back the longest unused (resident_filters.h);
  // 0 = no bound.
  uint64_t filter_resident_bytes = 128ull << 20;

  // Read-only mode when the disk is nearly full (disk_guard.h,
  // docs/reliability.md "Disk full"): --min-free-disk. The path is set to
  // output_path by Open.
  DiskGuardOptions disk;
  // How often the free space is re-read (besides before every flush).
  Duration disk_check_interval = std::chrono::seconds(1);

  // Retention (retention.h, docs/retention.md): --retention,
  // --retention-size, --retention-interval.
  RetentionOptions retention;
  // Delete requests (deletes.h, docs/retention.md "Deleting lines"):
  // --delete-cancel-period, --delete-interval. flush_and_checkpoint is the
  // store's own (set by Open).
  DeletesOptions deletes;

  // Started once the catalog is open and reconciled, stopped in Close()
  // before the catalog closes: the S3 uploader when --s3-bucket is set
  // (cli/serve.cc). Not owned; must outlive the store. nullptr = none.
  storage::CatalogWorker* catalog_worker = nullptr;
  // Offered every acknowledged push (push_observer.h): the live tail.
  // Not owned; must outlive the store. nullptr = none.
  PushObserver* push_observer = nullptr;
};

struct StoreStats {
  uint64_t head_rows = 0;     // rows not yet in a published file
  uint64_t head_bytes = 0;    // their accounted bytes
  uint64_t files = 0;         // published files (flush files and segments)
  uint64_t wal_bytes = 0;     // bytes in WAL files
  uint64_t wal_files = 0;
  bool wal_healthy = true;    // false after a WAL write or fsync failed (sticky)
  uint64_t watermark = 0;     // durable WAL watermark
  uint64_t replayed_records = 0;
  // Disk guard (disk_guard.h): read-only mode and what it was decided on.
  DiskGuard::State disk;
  // At startup's WAL replay: acknowledged records lost to damage (logged at
  // error with the file and offset), the bytes skipped, and bytes of torn
  // tails (writes that were never acknowledged).
  uint64_t wal_corrupt_records = 0;
  uint64_t wal_corrupt_bytes = 0;
  uint64_t wal_torn_bytes = 0;
  uint64_t rejected_backpressure = 0;  // pushes answered 429
  uint64_t backpressure_waiting = 0;   // pushes waiting for room right now
  uint64_t segments = 0;      // merged segments (local and remote)
  uint64_t segments_remote = 0;  // of those, rotated to (or adopted from) S3
  uint64_t flush_files = 0;   // flush files not yet merged
  uint64_t rows_total = 0;    // rows in files
  uint64_t local_bytes = 0;   // compressed bytes of local files
  uint64_t line_bytes = 0;    // line bytes in local files
  // Memory held for published files' content filters outside the cache
  // (summaries, common filters, group ranges; the group filters of flush
  // files and remote rows; the id keys flush files keep for their merge):
  // it grows with the rows stored, about 0.7 B/line (docs/merges.md, "Memory").
  uint64_t filter_memory_bytes = 0;
  // Of those, the flush files' (their group filters and kept id keys):
  // bounded by --max-merge-backlog, unlike the rest.
  uint64_t filter_memory_flush_bytes = 0;
  // Filters of format-3 local files, mapped from their files: page cache
  // the kernel may drop and read again, not heap (filter_frame.h).
  uint64_t filter_mapped_bytes = 0;
  // Of the process's memory, the file pages it holds resident (above its
  // level at open: mostly mapped filters that needles probed), at most
  // about --filter-resident-size; and the mapped bytes given back to keep
  // it there (resident_filters.h).
  uint64_t filter_resident_bytes = 0;
  uint64_t filter_released_bytes = 0;
  // The group filters of local segments held in the cache (at most
  // --filter-cache-size), and its lookups that found them or read the file.
  uint64_t filter_cache_bytes = 0;
  uint64_t filter_cache_hits = 0;
  uint64_t filter_cache_misses = 0;
  int64_t min_ts = 0;         // over files and head; 0 when empty
  int64_t max_ts = 0;
  // Merges.
  uint64_t merged_rows = 0;          // rows written by merges since start
  uint64_t merges = 0;               // merges completed since start
  double merge_seconds = 0;          // wall time spent in them
  double merge_cpu_seconds = 0;      // CPU time of the merge threads
  uint64_t merges_running = 0;
  uint64_t merge_failures = 0;       // merges that failed (logged; retried)
  uint64_t backlog_files = 0;        // files a merge is due for (flush files and small segments)
  uint64_t backlog_bytes = 0;        // their line bytes
  double merge_lag_seconds = 0;      // age of the oldest flush file waiting for a merge
  uint64_t flush_failures = 0;       // flush attempts that failed (logged; retried)
  // Damage containment (quarantine.cc, docs/reliability.md): damaged files
  // moved to quarantine/ since start (startup included), moves or catalog
  // removals that failed (logged; retried on the next read), and 1 when this
  // start rebuilt an unreadable catalog from the files.
  uint64_t files_quarantined = 0;
  uint64_t quarantine_failures = 0;
  uint64_t catalog_rebuilds = 0;
  uint64_t flush_stalls = 0;         // times a flush waited for the backlog to shrink
  bool flush_stalled = false;        // a flush is waiting now
  std::vector<std::pair<int, uint64_t>> files_by_level;  // (level, files), local and remote
  std::vector<std::pair<int, uint64_t>> bytes_by_level;  // (level, compressed bytes), local and remote
  uint64_t remote_bytes = 0;         // compressed bytes of remote segments (catalog sizes)
  uint64_t rows_local = 0;           // rows in local files
  uint64_t rows_remote = 0;          // rows in remote files (0 for rows adopted from a listing alone)
  // Retention (retention.h): what queries may still return and what the
  // passes deleted since start.
  int64_t retention_floor = 0;       // oldest timestamp kept (unix ns); 0 when --retention is 0
  RetentionStats retention;
  // Delete requests: pending and processed, rows removed since start.
  DeleteStats deletes;
  // Since start: lines and line bytes acknowledged by Push (WAL replay not
  // counted), flushes (files written from head batches) and their latency,
  // and the WAL's group-commit fsyncs.
  uint64_t ingested_lines = 0;
  uint64_t ingested_bytes = 0;
  uint64_t flushes = 0;
  Histogram::Snapshot flush_seconds;
  Histogram::Snapshot wal_fsync_seconds;
};

class Store : public query::DataSource {
 public:
  // Takes the directory lock, reconciles the directory with the catalog
  // (recovery.cc), replays the WAL into the head, then starts the threads.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& opts);
  ~Store() override;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Stores a validated payload (labels sorted). OK: durable when durable and
  // visible to queries. ResourceExhausted: saturated, retry later (429).
  // Unavailable: shutting down, the disk is nearly full (read-only mode),
  // or the WAL failed (503).
  Status Push(Payload p);

  // OK while pushes can be taken; otherwise Unavailable with the reason:
  // read-only mode (disk nearly full) or a failed WAL (GET /ready).
  Status Writable();

  // query::DataSource
  void Snapshot(const query::Query& q, query::TopK* head, std::vector<query::FileRef>* files) override;
  std::vector<std::string> LabelKeys() override;
  int64_t OldestKept() override;
  std::function<int64_t(const Labels&)> StreamFloors() override;
  query::Tombstones PendingDeletes() override;

  // Delete requests (deletes.h): Create records one durably and hides its
  // rows from queries at once (InvalidArgument for a bad query or window);
  // Cancel removes a pending one (NotFound; InvalidArgument once processed);
  // RunDeletesNow runs one processing pass (POST /api/v1/admin/deletes).
  Result<storage::DeleteRequestRow> CreateDelete(std::string_view query, int64_t start, int64_t end);
  std::vector<storage::DeleteRequestRow> ListDeletes();
  Status CancelDelete(const std::string& id);
  Status RunDeletesNow();

  // Quarantines the file (quarantine.cc): out of the query set, moved to
  // quarantine/, out of the catalog; logged at error and counted.
  void ReportDamaged(int64_t id, const std::string& name, const Status& why) override;

  StoreStats Stats();
  bool durable() const;

  // Seals every batch and waits until all are published (tests, shutdown).
  Status FlushAll();
  // Runs one checkpoint pass now (tests).
  Status TEST_Checkpoint();
  // Flushes, checkpoints, then merges until the layout is final: no flush
  // file left, no two small segments that could be one (POST
  // /api/v1/admin/compact; tests never sleep for the background merges).
  Status CompactNow();
  // Runs one pass of the catalog worker now (POST /api/v1/admin/rotate); its
  // named counters. Unavailable when no worker is configured.
  Result<std::vector<std::pair<std::string, int64_t>>> RunCatalogWorkerNow();
  // Runs one retention pass now (tests; the background pass runs every
  // --retention-interval). OK when retention is off.
  Status RunRetentionNow();
  // Called between the crash-safe steps of a file's deletion by retention
  // (retention.cc); a non-OK status abandons it right there (tests).
  void TEST_SetRetentionHook(std::function<Status(int)> hook);
  // Called between the crash-safe steps of a merge with the step number; a
  // non-OK status abandons the merge right there, as a crash would (tests).
  void TEST_SetMergeHook(std::function<Status(int)> hook);

  // Refuses new pushes, flushes everything, runs a last checkpoint, closes
  // the WAL and joins every thread. Idempotent.
  Status Close();

  struct Impl;

 private:
  Store();
  std::unique_ptr<Impl> impl_;
};

// "fastest" -> 1, "default" -> 3, "better" -> 9, "best" -> 19.
Result<int> CompressionLevel(std::string_view name);

}  // namespace loge::store
