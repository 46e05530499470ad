// RemoteCache: what the zstd VFS keeps per remote file (an http(s) URL):
// its seek table, so a repeated open fetches nothing, and an LRU of decoded
// frames, so SQLite's page reads near each other cost one range request.
//
// Memory bound (docs/s3.md "Remote reads"): at most `frames_per_file`
// decoded frames per file, at most `max_bytes` of decoded frames over all
// remote files (the oldest frames of the least recently used file go
// first), and at most `max_files` files known (their seek tables: 20 bytes
// per frame, not counted in max_bytes). A frame in use by a reader stays
// valid after eviction until the reader lets go.
//
// Thread-safety: every method is thread-safe (mu_). GetFrame is single-flight
// per (file, frame): concurrent callers of a frame being loaded wait for that
// load. Loads run without the lock (no network under a component lock).
//
// Invariants (under mu_):
//  1. bytes_ == sum over files_ of File::bytes, and File::bytes == sum of its
//     frames' sizes; bytes_ <= max_bytes after every call returns.
//  2. Each File's lru holds exactly the indexes of its frames, newest first,
//     and frames.size() <= frames_per_file.
//  3. files_lru_ holds exactly the keys of files_, most recently used first;
//     files_.size() <= max_files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/mutex.h"
#include "core/status.h"

namespace loge::storage {

struct SeekTable;

struct RemoteCacheLimits {
  // Decoded frames kept per remote file (--s3-frame-cache-size, default 512:
  // a whole segment of up to 128 MiB at 256 KiB frames).
  size_t frames_per_file = 512;
  // Decoded frame bytes kept over all remote files (default 256 MiB).
  size_t max_bytes = 256ull << 20;
  // Remote files whose seek table (and frames) are kept (default 256).
  size_t max_files = 256;
};

class RemoteCache {
 public:
  using Frame = std::shared_ptr<const std::string>;
  // Fills *out with the decoded frame; called without the cache lock.
  using Loader = std::function<Status(std::string* out)>;

  explicit RemoteCache(RemoteCacheLimits limits) : limits_(limits) {}
  RemoteCache(const RemoteCache&) = delete;
  RemoteCache& operator=(const RemoteCache&) = delete;

  // Applies new limits, evicting what no longer fits.
  void SetLimits(RemoteCacheLimits limits) EXCLUDES(mu_);
  RemoteCacheLimits Limits() EXCLUDES(mu_);

  // The seek table cached for `key`, or null; marks the file recently used.
  std::shared_ptr<const SeekTable> Table(const std::string& key) EXCLUDES(mu_);
  // Remembers the seek table of `key` (keeping its frames if it was known).
  void PutTable(const std::string& key, std::shared_ptr<const SeekTable> table) EXCLUDES(mu_);

  // Frame `frame` of `key`, from the cache or by calling load once. A load
  // error goes to every waiting caller and nothing is cached. Frames of a
  // file with no cached table are returned but not kept. *hit (optional) is
  // true when this call did not load.
  Result<Frame> GetFrame(const std::string& key, uint64_t frame, const Loader& load,
                         bool* hit = nullptr) EXCLUDES(mu_);

  size_t Files() EXCLUDES(mu_);
  size_t Bytes() EXCLUDES(mu_);
  size_t FramesOf(const std::string& key) EXCLUDES(mu_);
  // Forgets every file and frame (tests measure cold reads with it).
  void Clear() EXCLUDES(mu_);

 private:
  struct File {
    std::shared_ptr<const SeekTable> table;
    std::list<uint64_t> lru;  // frame indexes, most recently used first
    std::unordered_map<uint64_t, std::pair<Frame, std::list<uint64_t>::iterator>> frames;
    size_t bytes = 0;
    std::list<std::string>::iterator pos;  // in files_lru_
  };
  struct Flight {
    bool done = false;  // guarded by mu_
    Status status;
    Frame frame;
  };

  void TouchLocked(File& f) REQUIRES(mu_);
  void EvictFrameLocked(File& f) REQUIRES(mu_);
  void EvictFileLocked(const std::string& key) REQUIRES(mu_);
  void EnforceLocked(File* keep) REQUIRES(mu_);

  Mutex mu_;
  CondVar flight_done_;  // notified when any flight finishes
  RemoteCacheLimits limits_ GUARDED_BY(mu_);
  size_t bytes_ GUARDED_BY(mu_) = 0;
  std::unordered_map<std::string, File> files_ GUARDED_BY(mu_);
  std::list<std::string> files_lru_ GUARDED_BY(mu_);
  std::map<std::pair<std::string, uint64_t>, std::shared_ptr<Flight>> flights_ GUARDED_BY(mu_);
};

}  // namespace loge::storage
