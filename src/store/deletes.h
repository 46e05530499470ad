// Deletes: the delete requests of Loki's delete API (POST/GET/DELETE
// /loki/api/v1/delete; docs/retention.md, "Deleting lines").
//
// A request is a stream selector with optional line filters and a window.
// From the moment Create() returns, queries hide its rows (PendingDeletes()
// feeds DataSource::Clip, so the scanner, the head and the tail apply it:
// query/tombstone.h). A processing pass then removes the rows from the
// files: it flushes the head and checkpoints the WAL (so every row pushed
// before the pass is in a file a rewrite may replace), finds the files
// holding rows of due requests with the one scanner, and rewrites each —
// local or remote (S3) — through the merge machinery (Merger::Rewrite)
// without them. Once no file
// holds a row of a request, it is marked "processed" (one catalog
// transaction) and queries stop applying it.
//
// Crash safety: a request is one catalog row, written before Create()
// returns. A rewrite is a merge (merger.cc's crash-safe steps): a crash
// leaves either the old file or the new one cataloged, never both, and the
// request "received" until a later pass finds no row of it left.
//
// DESIGN (threads): one thread wakes every `interval` for a pass; RunOnce()
// (the admin endpoint, tests) runs one on the caller's thread; passes are
// serialised by pass_mu_. mu_ guards the list and the tombstone snapshot,
// never held across disk work.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"
#include "core/time.h"
#include "query/tombstone.h"
#include "storage/catalog.h"
#include "storage/file_set.h"

namespace loge::store {

class Merger;

struct DeletesOptions {
  // --delete-cancel-period (default 24h, Loki's delete_request_cancel_period):
  // a request is processed (its rows removed from files) only once this
  // long has passed since it was made; until then DELETE cancels it. Its
  // rows are hidden from queries from the start either way.
  Duration cancel_period = std::chrono::hours(24);
  // --delete-interval (default 5m): time between processing passes; 0 = no
  // thread (passes run only through RunOnce).
  Duration interval = std::chrono::minutes(5);
  // The wall clock in unix ns; null = NowNanos (tests pass their own).
  std::function<int64_t()> now_ns;
  // Seals and publishes every head batch, then checkpoints the WAL: after
  // it, every row pushed before the call is in a file a rewrite may
  // replace. Null in tests that have no head.
  std::function<Status()> flush_and_checkpoint;
};

struct DeleteStats {
  uint64_t pending = 0;          // requests not yet processed
  uint64_t processed = 0;        // requests processed (listed)
  uint64_t rows_deleted = 0;     // rows removed from files by rewrites, since start
  uint64_t bytes_deleted = 0;    // bytes of those rows' lines (uncompressed text), since start
  uint64_t files_rewritten = 0;  // rewrites done, since start
  uint64_t passes = 0;
  uint64_t failures = 0;         // rewrites or passes that failed (logged; retried next pass)
  // Pending requests with rows in remote (S3) files that cannot be
  // rewritten because no object store is set (a node without
  // --s3-bucket): the request stays pending (and hidden by queries).
  uint64_t waiting_remote = 0;
};

class Deletes {
 public:
  // catalog, files and merger outlive the Deletes.
  Deletes(DeletesOptions opts, storage::Catalog* catalog, storage::FileSet* files, Merger* merger);
  ~Deletes();
  Deletes(const Deletes&) = delete;
  Deletes& operator=(const Deletes&) = delete;

  // Reads the requests from the catalog (startup). A request whose query
  // no longer parses is logged and counted, and left out of the tombstones.
  Status Load() EXCLUDES(mu_);
  void Start() EXCLUDES(mu_);
  void Stop() EXCLUDES(mu_);

  // Records a request (durably) and applies it to queries at once.
  // InvalidArgument for a bad query or window.
  Result<storage::DeleteRequestRow> Create(std::string_view query, int64_t start, int64_t end) EXCLUDES(mu_);
  // Every request, oldest first.
  std::vector<storage::DeleteRequestRow> List() const EXCLUDES(mu_);
  // Removes a pending request: NotFound, or InvalidArgument once processed.
  Status Cancel(const std::string& id) EXCLUDES(mu_);
  // The pending requests as tombstones (null when there are none).
  query::Tombstones Pending() const EXCLUDES(mu_);

  // One processing pass now: every pending request past its cancel period.
  // The first error (the rest are logged and counted).
  Status RunOnce() EXCLUDES(pass_mu_, mu_);
  DeleteStats stats() const EXCLUDES(mu_);

 private:
  int64_t Now() const;
  // Rebuilds tombstones_ from requests_.
  void Publish() REQUIRES(mu_);
  void Loop(std::stop_token st);

  const DeletesOptions opts_;
  storage::Catalog* const catalog_;
  storage::FileSet* const files_;
  Merger* const merger_;

  Mutex pass_mu_;  // one pass at a time
  mutable Mutex mu_;
  std::condition_variable_any cv_;  // stop
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<storage::DeleteRequestRow> requests_ GUARDED_BY(mu_);  // oldest first
  query::Tombstones tombstones_ GUARDED_BY(mu_);                      // of the pending ones
  DeleteStats stats_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = 0;  // disambiguates ids made in one nanosecond
  std::vector<std::string> in_pass_ GUARDED_BY(mu_);     // requests the running pass processes
  std::vector<std::string> cancelling_ GUARDED_BY(mu_);  // requests a Cancel is removing
  std::jthread thread_;
};

}  // namespace loge::store
