// Internal to store/: the state behind Store, shared by store.cc (the running
// write path and flushes) and recovery.cc (startup: lock, reconcile, replay).
#pragma once

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ingest/head.h"
#include "storage/catalog.h"
#include "storage/file_set.h"
#include "storage/filter_cache.h"
#include "store/resident_filters.h"
#include "store/deletes.h"
#include "store/flushed_seqs.h"
#include "store/merger.h"
#include "store/retention.h"
#include "store/store.h"
#include "wal/checkpointer.h"
#include "wal/wal.h"

namespace loge::io {
class FileSystem;
}

namespace loge::store {

// Catalog state key of the persisted WAL watermark.
inline constexpr const char* kWatermarkKey = "wal_watermark";

struct Store::Impl {
  StoreOptions opts;
  io::FileSystem* fs = nullptr;
  int lock_fd = -1;  // the data directory's LOCK, held for the store's life
  std::unique_ptr<ingest::Head> head;
  FlushedSeqs flushed;  // startup only: WAL record parts already in flush files

  std::unique_ptr<storage::Catalog> catalog;
  storage::FileSet files;  // what queries read (Head invariant 1)
  std::shared_ptr<storage::FilterCache> filter_cache;  // local segments' group filters
  std::unique_ptr<ResidentFilters> resident_filters;   // bounds mapped filter pages in RSS
  std::atomic<uint64_t> next_file_seq{1};

  wal::SeqTracker tracker;
  std::unique_ptr<wal::Wal> wal;
  std::unique_ptr<wal::Checkpointer> checkpointer;
  std::unique_ptr<Merger> merger;
  std::unique_ptr<Retention> retention;
  std::unique_ptr<DiskGuard> disk;  // read-only mode below --min-free-disk
  std::unique_ptr<Deletes> deletes;
  std::atomic<uint64_t> persisted_watermark{0};  // every WAL seq <= it is in a durable file
  uint64_t replayed = 0;
  // Startup replay (docs/format-wal.md, "Damage"): damaged records skipped
  // and their bytes; bytes of torn tails (never acknowledged).
  uint64_t wal_corrupt_records = 0;
  uint64_t wal_corrupt_bytes = 0;
  uint64_t wal_torn_bytes = 0;
  std::atomic<bool> closed{false};
  std::atomic<uint64_t> flush_stalls{0};
  std::atomic<uint64_t> flush_failures{0};
  std::atomic<uint64_t> files_quarantined{0};    // quarantine.cc
  std::atomic<uint64_t> quarantine_failures{0};
  std::atomic<uint64_t> catalog_rebuilds{0};     // recovery: catalog.sqlite was unreadable
  bool rebuild_catalog = false;  // startup only: the catalog is new (lost or unreadable): rebuild from files
  std::atomic<bool> flush_stalled{false};
  std::atomic<uint64_t> ingested_lines{0};  // acknowledged by Push since start
  std::atomic<uint64_t> ingested_bytes{0};  // their line bytes
  std::atomic<uint64_t> flushes{0};         // flush files written and published
  Histogram flush_seconds;                  // write + register of each flush file
  std::vector<std::jthread> workers;
  std::jthread ticker;

  // store.cc: the running write path.
  Result<storage::FilePtr> WriteBatch(const ingest::Batch& batch, std::string* name, storage::CatalogEntry* pending);
  void FlushLoop(std::stop_token st);
  void TickLoop(std::stop_token st);
  // Gives back mapped filter pages above --filter-resident-size (ticker).
  void CheckResidentFilters();
  void WaitForBacklog(std::stop_token st);
  storage::FilePtr MakeHandle(storage::CatalogEntry e);
  size_t FlushFileCount();

  // quarantine.cc: damaged files.
  // Moves <output>/<name> to quarantine/ (fsyncing both directories); logs
  // at error with `why`, counts it. Returns the path it now has.
  Result<std::string> MoveToQuarantine(const std::string& name, const Status& why);
  // A published file found damaged: out of the FileSet, moved aside, its
  // catalog row removed. Safe from any thread; later calls for the same id
  // do nothing.
  void QuarantinePublished(int64_t id, const std::string& name, const Status& why);

  // recovery.cc: startup.
  Status Lock();
  void Unlock();
  Status OpenCatalog();
  Status Reconcile();
  Status AdoptUncataloged(const std::vector<std::string>& names, std::vector<storage::CatalogEntry>* kept);
  Status RebuildFromFiles(const std::vector<std::string>& names, std::vector<storage::CatalogEntry>* kept);
  Status QuarantineAtStartup(const std::string& name, const Status& why);
  Status LoadFiles(std::vector<storage::CatalogEntry> kept);
  Result<storage::CatalogEntry> EntryFromFile(const std::string& path, const std::string& name,
                                              storage::FileKind kind);
  Status Replay();
};

}  // namespace loge::store
