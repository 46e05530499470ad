// The live tail (GET /loki/api/v1/tail over a WebSocket): tailers and the
// hub that feeds them.
//
// DESIGN (threads, queues, wake-ups):
//  - TailHub is the store's PushObserver (store/push_observer.h). On the
//    pushing thread, Capture matches each pushed stream's labels against
//    every tailer's selector and copies a matching stream once; Publish
//    offers it to those tailers' TailQueues. Nothing there waits for a
//    tailer: a full queue drops (tail_queue.h).
//  - One worker thread (started by the hub, joined by Stop) turns queued
//    entries into frames: line filters, label filters and the pipeline of
//    the tailer's LogQL query (src/query's stages, as every read path runs
//    them), grouped by the labels they end with. A tailer has at most one
//    frame being written; the next is built when that write completes, so
//    a client that reads slowly costs its own queue, not memory without
//    bound. The worker wakes on Publish, on a write completing, and when a
//    delayed entry comes due: with delay_for, nothing is sent until the
//    oldest queued entry has waited that long; then it goes out with those
//    queued behind it, sorted by timestamp within the frame.
//  - The tail handler (handler_tail.cc) registers a tailer before it runs
//    the backfill query, so an entry is either in the backfill (it was
//    visible when the query ran) or offered live; one that is both is sent
//    once (the backfill's keys are remembered).
//
// Thread-safety: every public method may run on any thread.
#pragma once

#include <functional>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/mutex.h"
#include "query/engine.h"
#include "server/http_server.h"
#include "server/tail_queue.h"
#include "store/push_observer.h"

namespace loge::server {

struct TailOptions {
  size_t queue_entries = 10000;    // --tail-queue-size: entries a tailer holds before it drops
  size_t queue_bytes = 16u << 20;  // line bytes a tailer holds before it drops (16 MiB)
  // The pending delete requests (Store::PendingDeletes): a live line one
  // of them matches is not sent, as a query would not return it. Null = none.
  std::function<query::Tombstones()> pending_deletes;
};

class TailHub;

// One connected tail: its query, its queue, its connection.
class Tailer {
 public:
  // q: matchers, line and entry filters and pipeline of the tail's query.
  Tailer(query::Query q, size_t limit, int64_t delay_ns, const TailOptions& opts);

  const query::Query& query() const { return q_; }
  TailQueue& queue() { return queue_; }

  // The backfill's entries, so the same entry offered live is not sent
  // twice. Call before the connection opens.
  void RememberSent(std::vector<std::string> keys) EXCLUDES(mu_);
  // True (once) when the backfill sent the entry with this key.
  bool SentInBackfill(const std::string& key) EXCLUDES(mu_);
  // Key of an entry for RememberSent: stored stream identity, timestamp,
  // and the line as the pipeline left it.
  static std::string EntryKey(std::string_view labels_json, int64_t ts, std::string_view line);

 private:
  friend class TailHub;
  const query::Query q_;
  const size_t limit_;     // entries per frame
  const int64_t delay_ns_;  // delay_for
  TailQueue queue_;
  Mutex mu_;  // guards the connection state below
  std::shared_ptr<WebSocketConn> conn_ GUARDED_BY(mu_);  // set by the hub's Open
  bool writing_ GUARDED_BY(mu_) = false;  // a frame is being written
  bool closed_ GUARDED_BY(mu_) = false;
  std::unordered_set<std::string> backfill_keys_ GUARDED_BY(mu_);
  query::LabelsBuilder lb_;  // the worker's only
};

class TailHub : public store::PushObserver {
 public:
  explicit TailHub(const TailOptions& opts);
  ~TailHub() override;  // Stop()s
  TailHub(const TailHub&) = delete;
  TailHub& operator=(const TailHub&) = delete;

  const TailOptions& options() const { return opts_; }

  // From now on pushes matching t's selector are queued for it.
  void Add(std::shared_ptr<Tailer> t) EXCLUDES(mu_);
  // The connection is up: `first` (the backfill frame, may be empty) is
  // written first, then live frames.
  void Open(const std::shared_ptr<Tailer>& t, std::shared_ptr<WebSocketConn> conn, std::string first)
      EXCLUDES(mu_);
  // The client went away (or never came): forget t.
  void Remove(const std::shared_ptr<Tailer>& t) EXCLUDES(mu_);

  // store::PushObserver
  std::unique_ptr<Captured> Capture(const Payload& p) override EXCLUDES(mu_);
  void Publish(std::unique_ptr<Captured> captured) override;

  size_t connected() const { return count_.load(std::memory_order_relaxed); }
  // Entries dropped for full queues since start (removed tailers included).
  uint64_t dropped_total() EXCLUDES(mu_);

  // Joins the worker; frames no longer go out. Idempotent.
  void Stop();

 private:
  void Wake() EXCLUDES(wake_mu_);
  void Loop(std::stop_token st);
  // Sends t's next frame if one is ready and none is being written; the
  // steady time its oldest delayed entry comes due otherwise (0: none).
  int64_t Serve(const std::shared_ptr<Tailer>& t, int64_t now);
  std::vector<std::shared_ptr<Tailer>> Snapshot() EXCLUDES(mu_);

  const TailOptions opts_;
  Mutex mu_;  // guards tailers_, dropped_removed_
  std::vector<std::shared_ptr<Tailer>> tailers_ GUARDED_BY(mu_);
  uint64_t dropped_removed_ GUARDED_BY(mu_) = 0;  // drops of tailers already removed
  std::atomic<size_t> count_{0};                   // tailers_.size(), read without the lock
  Mutex wake_mu_;
  CondVar wake_cv_;
  bool woken_ GUARDED_BY(wake_mu_) = false;
  std::jthread worker_;
};

}  // namespace loge::server
