// Head: the rows a push has made durable in the WAL but no published file
// holds yet — what queries read from memory. One open batch per bucket
// (streams are spread over buckets by label fingerprint), sealed batches
// waiting for a flush worker, and the byte budget that turns a flush backlog
// into backpressure.
//
// DESIGN (threads, queues, wake-ups):
//  - Reserve() runs on the pushing thread before the WAL append: it waits up
//    to backpressure_wait for room in the byte budget (or fails at once with
//    drop_on_backpressure); Release() gives bytes back when a batch is
//    published as a file.
//  - Insert() adds a WAL record's parts to the buckets' open batches; a batch
//    reaching seal_rows or seal_bytes is sealed at once. SealDue() (the
//    store's ticker) seals batches older than seal_age.
//  - Sealed batches wait in a queue of at most queue_limit; when it is full
//    buckets keep growing their open batch instead (bounded by the budget).
//    Flush workers take batches with NextSealed() and, once the batch is a
//    published file, call Retire().
//
// Invariants:
//  1. A row is in exactly one of: an open batch, a sealed batch, a published
//     file. Retire() removes a batch and runs the caller's publication of its
//     file under one lock (reg_mu_), and Scan() reads open and sealed batches
//     and runs the caller's file snapshot under the same lock, so a query
//     never misses or double-counts a row.
//  2. Lock order: reg_mu_ before any bucket mutex; budget_mu_ is a leaf.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"
#include "core/time.h"
#include "core/types.h"

namespace loge::query {
struct Query;
class TopK;
}  // namespace loge::query

namespace loge::ingest {

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
using BatchPtr = std::shared_ptr<const Batch>;

struct HeadOptions {
  int buckets = 4;                   // --buckets
  size_t seal_rows = 1000000;        // --payload-size: rows that seal a batch
  size_t seal_bytes = 6ull << 20;    // accounted bytes that seal a batch
  Duration seal_age = std::chrono::seconds(1);  // --flush-interval
  size_t queue_limit = 4;            // --flush-queue: sealed batches waiting for a worker
  size_t max_bytes = 48ull << 20;    // --max-head-size: unflushed bytes before pushes wait
  Duration backpressure_wait = std::chrono::seconds(5);  // --backpressure-wait
  bool drop_on_backpressure = false;  // --drop-on-backpressure: 429 at once when saturated
};

struct HeadStats {
  uint64_t rows = 0;              // rows not yet in a published file
  uint64_t bytes = 0;             // their accounted bytes
  uint64_t sealed = 0;            // sealed batches not yet published
  uint64_t rejected = 0;          // pushes refused for want of room (429)
  uint64_t waiting = 0;           // pushes waiting for room right now
};

class Head {
 public:
  explicit Head(const HeadOptions& opts);
  Head(const Head&) = delete;
  Head& operator=(const Head&) = delete;

  int buckets() const { return static_cast<int>(buckets_.size()); }
  int BucketOf(uint64_t fingerprint) const { return static_cast<int>(fingerprint % buckets_.size()); }

  // Budget. Reserve: OK once `bytes` fit; ResourceExhausted when they did
  // not within backpressure_wait (or at once with drop_on_backpressure).
  Status Reserve(uint64_t bytes) EXCLUDES(budget_mu_);
  void Release(uint64_t bytes) EXCLUDES(budget_mu_);
  // Counts bytes without waiting (WAL replay, which must not be refused).
  void Charge(uint64_t bytes) EXCLUDES(budget_mu_);

  // The payload's non-empty streams grouped by bucket; *nparts = buckets touched.
  std::vector<std::vector<Stream*>> SplitByBucket(Payload* p, uint32_t* nparts) const;
  // Moves the entries of record `seq`'s streams into the open batches.
  void Insert(uint64_t seq, const std::vector<std::vector<Stream*>>& by_bucket) EXCLUDES(reg_mu_);

  // Seals batches older than seal_age (the ticker), or every non-empty
  // batch, even past queue_limit (flush-all and shutdown).
  void SealDue(std::chrono::steady_clock::time_point now) EXCLUDES(reg_mu_);
  void SealAll() EXCLUDES(reg_mu_);
  // Seals batches that reached their row or byte bound while the queue was
  // full (a worker took a batch: a slot opened).
  void SealFull() EXCLUDES(reg_mu_);

  // Blocks until a sealed batch waits (returns it, taken off the queue) or
  // Stop() / the stop token (returns null once the queue is empty).
  BatchPtr NextSealed(std::stop_token st) EXCLUDES(reg_mu_);
  // Puts a batch whose flush failed back at the queue's front.
  void Requeue(BatchPtr b) EXCLUDES(reg_mu_);
  // Waits up to `d` or until Stop(); true when stopping.
  bool WaitOrStop(Duration d, std::stop_token st) EXCLUDES(reg_mu_);
  // The batch is now a published file: under the registry lock, runs
  // `publish` (which adds the file to what queries see) and forgets the
  // batch; then releases its bytes from the budget.
  void Retire(const BatchPtr& b, const std::function<void()>& publish) EXCLUDES(reg_mu_);

  // Adds every head row matching q to *top; runs `snapshot` under the same
  // lock (invariant 1). A query with costly filters (a regex, many
  // alternatives) copies open batches' candidate rows out under their lock
  // and filters them after, so it never holds a bucket's pushes for longer
  // than that copy. Stops early, leaving *top incomplete, once
  // q.Interrupted() (checked every query::kCheckEvery rows): the caller's
  // query::Scan reports why.
  void Scan(const query::Query& q, query::TopK* top, const std::function<void()>& snapshot) EXCLUDES(reg_mu_);
  // Label names of every head stream; runs `snapshot` under the same lock.
  void LabelKeys(std::vector<std::string>* out, const std::function<void()>& snapshot) EXCLUDES(reg_mu_);

  // Waits until every sealed batch is retired; false when Stop() came first
  // or the deadline passed.
  bool WaitRetired(std::chrono::steady_clock::time_point deadline) EXCLUDES(reg_mu_);
  // Wakes and ends every wait; NextSealed drains the queue, then returns null.
  void Stop() EXCLUDES(reg_mu_);

  HeadStats Stats() EXCLUDES(budget_mu_, reg_mu_);

 private:
  struct Bucket {
    Mutex mu;
    std::unique_ptr<Batch> open GUARDED_BY(mu);  // never null
  };
  void SealLocked(Bucket* b, bool force_queue) REQUIRES(reg_mu_, b->mu);
  bool Full(const Batch& b) const { return b.rows >= opts_.seal_rows || b.bytes >= opts_.seal_bytes; }
  template <typename Pred>
  void SealIf(size_t i, bool force_queue, Pred pred) EXCLUDES(reg_mu_) {
    MutexLock rl(&reg_mu_);
    Bucket* b = buckets_[i].get();
    MutexLock bl(&b->mu);
    if (pred(*b->open)) SealLocked(b, force_queue);
  }

  const HeadOptions opts_;
  std::vector<std::unique_ptr<Bucket>> buckets_;

  Mutex reg_mu_;
  std::list<BatchPtr> sealed_ GUARDED_BY(reg_mu_);   // not yet retired
  std::deque<BatchPtr> queue_ GUARDED_BY(reg_mu_);   // not yet taken by a worker
  std::condition_variable_any reg_cv_;               // queue non-empty, a batch retired, or stop
  bool stopping_ GUARDED_BY(reg_mu_) = false;

  Mutex budget_mu_;
  std::condition_variable_any budget_cv_;
  uint64_t bytes_ GUARDED_BY(budget_mu_) = 0;
  std::atomic<uint64_t> rows_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> waiting_{0};
};

}  // namespace loge::ingest
