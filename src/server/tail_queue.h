// TailQueue: what one live tailer (GET /loki/api/v1/tail) has been offered
// and not yet sent: a bounded queue of entries. Pushes offer entries; the
// tail worker takes them to build frames. When the queue is full the
// entries that do not fit are dropped, never waited for, and the next frame
// reports them in `dropped_entries` (the first kMaxDroppedListed of them;
// every drop is counted in dropped_total for /metrics).
//
// Thread-safety: every method may run on any thread; one short lock, held
// for copying pointers, never across I/O or a wait.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/mutex.h"
#include "core/types.h"

namespace loge::server {

// A pushed stream as the tail holds it: one copy shared by every tailer it
// was offered to.
struct TailStream {
  Stream stream;
  std::string labels_json;  // LabelsToJson(stream.labels): the stored stream's identity
};

class TailQueue {
 public:
  // Entries listed in one frame's dropped_entries at most (Loki lists them
  // all; a tailer that stopped reading would make that list unbounded).
  static constexpr size_t kMaxDroppedListed = 1000;

  struct Item {
    std::shared_ptr<const TailStream> stream;
    size_t index = 0;     // into stream->stream.entries
    int64_t arrived = 0;  // steady-clock ns when offered (delay_for)
  };
  struct Drop {
    std::shared_ptr<const TailStream> stream;
    int64_t ts = 0;  // the dropped entry's timestamp
  };

  // max_entries, max_bytes: what the queue holds at most (entries and their
  // line bytes); at least one entry always fits in an empty queue.
  TailQueue(size_t max_entries, size_t max_bytes) : max_entries_(max_entries), max_bytes_(max_bytes) {}
  TailQueue(const TailQueue&) = delete;
  TailQueue& operator=(const TailQueue&) = delete;

  // Queues every entry of `s` that fits, in order; notes the rest as
  // dropped. Never waits for room.
  void Offer(const std::shared_ptr<const TailStream>& s, int64_t now) EXCLUDES(mu_);
  // When the oldest item was offered at or before `ready_at`, moves it and
  // those behind it, up to `max` in all, into *items; and every drop noted
  // so far into *drops (oldest first).
  void Take(size_t max, int64_t ready_at, std::vector<Item>* items, std::vector<Drop>* drops) EXCLUDES(mu_);
  // When the oldest queued item was offered, if any.
  std::optional<int64_t> OldestArrival() EXCLUDES(mu_);
  uint64_t dropped_total() EXCLUDES(mu_);
  size_t size() EXCLUDES(mu_);

 private:
  const size_t max_entries_;
  const size_t max_bytes_;
  Mutex mu_;  // guards everything below
  std::deque<Item> items_ GUARDED_BY(mu_);
  size_t bytes_ GUARDED_BY(mu_) = 0;  // line bytes of items_
  std::vector<Drop> drops_ GUARDED_BY(mu_);  // not yet reported, at most kMaxDroppedListed
  uint64_t dropped_total_ GUARDED_BY(mu_) = 0;
};

}  // namespace loge::server
