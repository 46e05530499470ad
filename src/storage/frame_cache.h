// FrameCache: an LRU of decoded seekable-zstd frames, charged by decoded
// bytes. The zstd VFS keeps one for the whole process so connections to the
// same file share frames.
//
// Thread-safety: every method is thread-safe. Get is single-flight: while one
// caller loads a key, other callers of that key wait for its result instead of
// loading it again. Loading runs without the lock held (STYLE.md: no
// decompression under a component lock).
//
// Invariants (under mu_):
//  1. A key is in at most one of entries_ and flights_.
//  2. usage_ == sum of entries_[k].frame->size() and usage_ <= capacity_.
//  3. lru_ holds exactly the keys of entries_, most recently used first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/mutex.h"
#include "core/status.h"

namespace loge::storage {

// Names one frame of one file. `file` must change when the file's bytes do;
// the VFS uses the path plus the compressed size.
struct FrameKey {
  std::string file;
  uint64_t frame = 0;
  bool operator==(const FrameKey&) const = default;
};

class FrameCache {
 public:
  using Frame = std::shared_ptr<const std::string>;
  // Fills *out with the decoded frame; called without the cache lock.
  using Loader = std::function<Status(std::string* out)>;

  explicit FrameCache(size_t capacity_bytes);
  ~FrameCache();
  FrameCache(const FrameCache&) = delete;
  FrameCache& operator=(const FrameCache&) = delete;

  // Returns the frame for key, from the cache or by calling load once. The
  // frame stays valid for as long as the caller holds it, even if evicted.
  // A load error is returned to the loader and to every caller that waited on
  // it, and nothing is cached. *hit (optional) is true when this call did not
  // load. A frame larger than the capacity is returned but not kept.
  Result<Frame> Get(const FrameKey& key, const Loader& load, bool* hit = nullptr) EXCLUDES(mu_);

  // Changes the capacity in bytes, evicting least recently used frames to fit.
  void SetCapacity(size_t bytes) EXCLUDES(mu_);
  // Drops every cached frame; loads in flight finish and are cached.
  void Clear() EXCLUDES(mu_);

  size_t Capacity() EXCLUDES(mu_);
  size_t Usage() EXCLUDES(mu_);  // bytes of cached frames

  // Callers currently blocked waiting for another caller's load.
  size_t TEST_Waiters() EXCLUDES(mu_);

 private:
  struct KeyHash {
    size_t operator()(const FrameKey& k) const {
      return std::hash<std::string>()(k.file) ^ (std::hash<uint64_t>()(k.frame) * 0x9E3779B97F4A7C15ull);
    }
  };
  struct Entry {
    Frame frame;
    std::list<FrameKey>::iterator lru;
  };
  // One load in progress; waiters hold it until done.
  struct Flight {
    bool done = false;  // guarded by the cache's mu_
    Status status;
    Frame frame;
  };

  void InsertLocked(const FrameKey& key, Frame frame) REQUIRES(mu_);
  void EvictToFitLocked() REQUIRES(mu_);

  Mutex mu_;
  CondVar flight_done_;                 // notified when any flight finishes
  size_t capacity_ GUARDED_BY(mu_);     // bytes
  size_t usage_ GUARDED_BY(mu_) = 0;    // bytes
  size_t waiters_ GUARDED_BY(mu_) = 0;  // callers blocked on a flight
  std::list<FrameKey> lru_ GUARDED_BY(mu_);
  std::unordered_map<FrameKey, Entry, KeyHash> entries_ GUARDED_BY(mu_);
  std::unordered_map<FrameKey, std::shared_ptr<Flight>, KeyHash> flights_ GUARDED_BY(mu_);
};

}  // namespace loge::storage
