// Internal to ingest/: the state behind Ingester, shared by ingester.cc (the
// running write path) and ingester_open.cc (startup: reconcile and replay).
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <list>
#include <memory>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/mutex.h"
#include "ingest/flushed_seqs.h"
#include "ingest/ingester.h"
#include "storage/catalog.h"
#include "storage/compactor.h"
#include "storage/file_set.h"
#include "wal/checkpointer.h"
#include "wal/wal.h"

namespace loge::io {
class FileSystem;
}

namespace loge::ingest {

inline constexpr const char* kFlushPrefix = "flush-";
inline constexpr const char* kSegmentPrefix = "segment-";
inline constexpr const char* kFileSuffix = ".sqlite.zst";
// Catalog state key of the persisted WAL watermark.
inline constexpr const char* kWatermarkKey = "wal_watermark";

struct StreamBuf {
  Labels labels;
  std::string labels_json;
  std::vector<Entry> entries;
};

// An open or sealed batch of one bucket.
struct Batch {
  int bucket = 0;
  std::unordered_map<uint64_t, StreamBuf> streams;  // by label fingerprint
  std::vector<uint64_t> seqs;                       // one entry per WAL record part
  uint64_t rows = 0;
  uint64_t bytes = 0;                               // as counted by Stream::Bytes
  std::chrono::steady_clock::time_point opened;
};

struct Bucket {
  Mutex mu;
  std::unique_ptr<Batch> open GUARDED_BY(mu);  // never null
};

struct Ingester::Impl {
  IngestOptions opts;
  io::FileSystem* fs = nullptr;
  std::vector<std::unique_ptr<Bucket>> buckets;
  FlushedSeqs flushed;  // startup only: WAL record parts already in flush files

  std::unique_ptr<storage::Catalog> catalog;
  storage::FileSet files;  // what queries read (invariant 1 with sealed)

  // Registry of sealed batches (invariant 1).
  Mutex reg_mu;
  std::list<std::shared_ptr<const Batch>> sealed GUARDED_BY(reg_mu);  // not yet published
  std::deque<std::shared_ptr<const Batch>> queue GUARDED_BY(reg_mu);  // not yet taken by a worker
  std::condition_variable_any reg_cv;  // queue non-empty, or a batch got published
  bool stopping GUARDED_BY(reg_mu) = false;
  std::atomic<uint64_t> next_file_seq{1};

  // Head byte budget (backpressure).
  Mutex budget_mu;
  std::condition_variable_any budget_cv;
  uint64_t head_bytes GUARDED_BY(budget_mu) = 0;
  std::atomic<uint64_t> head_rows{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> waiting{0};  // pushes blocked in Reserve for room

  wal::SeqTracker tracker;
  std::unique_ptr<wal::Wal> wal;
  std::unique_ptr<wal::Checkpointer> checkpointer;
  std::unique_ptr<storage::Compactor> compactor;
  std::atomic<uint64_t> persisted_watermark{0};  // every WAL seq <= it is in a durable file
  uint64_t replayed = 0;
  std::atomic<bool> closed{false};
  std::vector<std::jthread> workers;
  std::jthread ticker;

  int BucketOf(uint64_t fp) const { return static_cast<int>(fp % buckets.size()); }

  // ingester.cc: the running write path.
  void SealLocked(Bucket* b, bool force_queue) REQUIRES(reg_mu, b->mu);
  template <typename Pred>
  void SealIf(size_t i, bool force_queue, Pred pred) {
    MutexLock rl(&reg_mu);
    Bucket* b = buckets[i].get();
    MutexLock bl(&b->mu);
    if (pred(*b->open)) SealLocked(b, force_queue);
  }
  void Insert(int bi, uint64_t seq, std::vector<Stream*>& parts);
  void InsertPayload(uint64_t seq, const std::vector<std::vector<Stream*>>& by_bucket);
  std::vector<std::vector<Stream*>> SplitByBucket(Payload* p, uint32_t* nparts);
  Status Reserve(uint64_t bytes);
  void Release(uint64_t bytes);
  Result<storage::FilePtr> WriteBatch(const Batch& batch);
  void FlushLoop(std::stop_token st);
  void TickLoop(std::stop_token st);
  storage::FilePtr MakeHandle(storage::CatalogEntry e);

  // ingester_open.cc: startup.
  Status Reconcile();
  Result<storage::CatalogEntry> EntryFromFile(const std::string& path, const std::string& name,
                                              storage::FileKind kind);
  Result<bool> SegmentCommitted(const std::string& path, const std::set<std::string>& on_disk);
  Status Replay();
};

// Parses "flush-<bucket>-<seq>.sqlite.zst"; false for other names.
bool ParseFlushName(std::string_view name, uint64_t* seq);
bool EndsWith(std::string_view s, std::string_view suffix);

}  // namespace loge::ingest
