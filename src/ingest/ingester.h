// Ingester: the write path. A validated payload goes to the WAL, then into
// the in-memory head (one bucket per stream fingerprint); batches flush into
// compressed SQLite files; the checkpointer trims the WAL behind them.
//
// DESIGN (threads, queues, wake-ups):
//  - Push() runs on the caller's thread (an HTTP handler). It reserves head
//    bytes (waits up to backpressure_wait, or fails at once with
//    drop_on_backpressure), appends to the WAL (waiting for the group-commit
//    fsync when durable), then inserts into the buckets. When it returns OK
//    the rows are durable (if durable) and visible to queries.
//  - A ticker thread wakes every flush_interval/4 and seals buckets whose
//    batch is older than flush_interval. An insert that fills a batch to
//    payload_size seals it at once.
//  - Sealed batches wait in a queue of at most flush_queue batches; when it
//    is full, buckets keep growing their open batch instead (bounded by the
//    head byte budget, which is what turns saturation into 429s).
//  - flush_workers threads pop batches, write a file, publish it, release
//    its bytes from the budget and report its WAL seqs to the tracker.
//  - The Checkpointer (wal/) runs its own thread.
//
// Invariants:
//  1. A row is in exactly one of: an open batch, a sealed batch, a published
//     file. Moves between them happen under reg_mu_, and Snapshot reads all
//     three under reg_mu_, so queries never miss or double-count a row.
//  2. A WAL record is deleted only after every part of it is in a published,
//     fsynced file (SeqTracker watermark).
//  3. Lock order: reg_mu_ before any bucket mutex; budget_mu_ is a leaf.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "core/types.h"
#include "ingest/decode_json.h"
#include "query/engine.h"

namespace loge::storage {
class CatalogWorker;
}

namespace loge::ingest {

struct IngestOptions {
  std::string output_path = "tmp/";  // --output-path: files and wal/ live here
  int buckets = 4;                   // --buckets: in-memory bucket workers
  size_t payload_size = 1000;        // --payload-size: rows that force a flush of a batch
  Duration flush_interval = std::chrono::seconds(1);      // --flush-interval
  int flush_level = 1;               // zstd level from --flush-compression
  int flush_workers = 2;             // --flush-workers
  size_t flush_queue = 4;            // --flush-queue: sealed batches waiting for a worker
  bool durable = true;               // --durable: fsync the WAL before acknowledging
  Duration checkpoint_interval = std::chrono::seconds(2);  // --checkpoint-interval
  bool drop_on_backpressure = false;  // --drop-on-backpressure: 429 at once when saturated
  size_t max_head_bytes = 48ull << 20;   // --max-head-size: unflushed bytes held before pushes wait
  Duration backpressure_wait = std::chrono::seconds(5);  // --backpressure-wait
  Duration compact_interval = std::chrono::seconds(30);  // --compact-interval; 0 disables compaction
  size_t compact_min_files = 8;       // --compact-min-files: flush files before a pass runs
  int compact_level = 15;             // --compact-level: zstd level of segments (docs/benchmarks.md)
  size_t compact_block_filter_lines = 1024;  // --compact-block-filter-lines (docs/format-segment.md)
  // Started once the catalog is open and reconciled, stopped in Close()
  // before the catalog closes: the S3 uploader when --s3-bucket is set
  // (cli/serve.cc). Not owned; must outlive the ingester. nullptr = none.
  storage::CatalogWorker* catalog_worker = nullptr;
};

struct IngestStats {
  uint64_t head_rows = 0;     // rows not yet in a published file
  uint64_t head_bytes = 0;    // their accounted bytes
  uint64_t files = 0;         // published flush files
  uint64_t wal_bytes = 0;     // bytes in WAL files
  uint64_t wal_files = 0;
  uint64_t watermark = 0;     // durable WAL watermark
  uint64_t replayed_records = 0;
  uint64_t rejected_backpressure = 0;  // pushes answered 429
  uint64_t backpressure_waiting = 0;   // pushes waiting for room right now
  uint64_t segments = 0;      // compacted segments (local and remote)
  uint64_t segments_remote = 0;  // of those, rotated to (or adopted from) S3
  uint64_t flush_files = 0;   // flush files not yet compacted
  uint64_t rows_total = 0;    // rows in files
  int64_t min_ts = 0;         // over files and head; 0 when empty
  int64_t max_ts = 0;
  uint64_t compacted_rows = 0;       // rows merged by compaction since start
  double compaction_seconds = 0;     // time spent in those passes
};

class Ingester : public query::DataSource {
 public:
  // Lists existing files, deletes unfinished *.tmp files, replays the WAL
  // into the head, then starts the threads.
  static Result<std::unique_ptr<Ingester>> Open(const IngestOptions& opts);
  ~Ingester() override;
  Ingester(const Ingester&) = delete;
  Ingester& operator=(const Ingester&) = delete;

  // Stores a validated payload (labels sorted). OK: durable when durable and
  // visible to queries. ResourceExhausted: saturated, retry later (429).
  // Unavailable: shutting down or the WAL failed (503).
  Status Push(Payload p);

  // query::DataSource
  void Snapshot(const query::Query& q, query::TopK* head, std::vector<query::FileRef>* files) override;
  std::vector<std::string> LabelKeys() override;

  IngestStats Stats();
  bool durable() const;

  // Seals every batch and waits until all are published (tests, shutdown).
  Status FlushAll();
  // Runs one checkpoint pass now (tests).
  Status TEST_Checkpoint();
  // Checkpoints, then compacts until fewer than compact_min_files flush
  // files are eligible (tests and POST /api/v1/admin/compact: no sleeping
  // for the background pass).
  Status CompactNow();
  // Runs one pass of the catalog worker now (POST /api/v1/admin/rotate: one
  // rotation and reconcile pass); its named counters. Unavailable when no
  // worker is configured (no --s3-bucket).
  Result<std::vector<std::pair<std::string, int64_t>>> RunCatalogWorkerNow();
  // Installs Compactor::TEST_step_hook (crash tests).
  void TEST_SetCompactionHook(std::function<Status(int)> hook);

  // Refuses new pushes, flushes everything, runs a last checkpoint, closes
  // the WAL and joins every thread. Idempotent.
  Status Close();

 private:
  Ingester();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "fastest" -> 1, "default" -> 3, "better" -> 9, "best" -> 19.
Result<int> CompressionLevel(std::string_view name);

}  // namespace loge::ingest
