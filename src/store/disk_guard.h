// DiskGuard: read-only mode when the data directory's file system is nearly
// full (docs/reliability.md, "Disk full"), as VictoriaLogs does below its
// -storage.minFreeDiskSpaceBytes.
//
// Below the threshold the store refuses pushes with Unavailable (503 and
// Retry-After) naming the free space and the threshold, /ready answers 503,
// and queries, flushes and merges go on: a flush turns WAL bytes into
// smaller compressed files and lets the WAL be deleted, so it frees space.
// Once the free space is back at or above the threshold, pushes are taken
// again without a restart.
//
// Thread-safety: Check() runs on any thread (the store's ticker, and each
// flush worker before it writes); AdmitWrite() and state() on any thread.
// Everything is under mu_.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/mutex.h"
#include "core/status.h"

namespace loge::store {

struct DiskSpace {
  uint64_t free_bytes = 0;   // available to an unprivileged process (statvfs f_bavail)
  uint64_t total_bytes = 0;  // size of the file system
};

// The free space below which ingest turns read-only (--min-free-disk).
struct MinFreeDisk {
  enum class Kind {
    kDefault,  // min(kDefaultMinFreeBytes, kDefaultMinFreePercent of the file system)
    kBytes,    // `bytes`; 0 turns the guard off
    kPercent,  // `percent` of the file system's size
  };
  Kind kind = Kind::kDefault;
  uint64_t bytes = 0;
  double percent = 0;
};

// Default threshold: 1 GiB, or 5% of a small file system, whichever is
// smaller — enough for a few flushes and a merge to finish on a big disk,
// without making a small test volume read-only from the start.
inline constexpr uint64_t kDefaultMinFreeBytes = 1ull << 30;
inline constexpr double kDefaultMinFreePercent = 5.0;

// Parses --min-free-disk: "" (the default rule), a size ("2GiB", "0" = off)
// or a percentage ("10%", in [0, 100)). InvalidArgument names the flag.
Result<MinFreeDisk> ParseMinFreeDisk(const std::string& text);

// statvfs() of path.
Result<DiskSpace> StatDiskSpace(const std::string& path);

struct DiskGuardOptions {
  std::string path;  // a path on the file system to watch (--output-path)
  MinFreeDisk min_free;
  // Where the free space comes from: StatDiskSpace when empty. Tests (and
  // the hidden --test-free-disk-file flag) put their own numbers here.
  std::function<Result<DiskSpace>(const std::string& path)> space;
};

class DiskGuard {
 public:
  explicit DiskGuard(DiskGuardOptions opts);
  DiskGuard(const DiskGuard&) = delete;
  DiskGuard& operator=(const DiskGuard&) = delete;

  // Reads the free space and enters or leaves read-only mode, logging each
  // change once (warn on entry, info on exit). A failed read is logged and
  // counted; the mode stays as it was.
  void Check() EXCLUDES(mu_);

  // OK while ingest may write; Unavailable with the reason while read-only.
  Status AdmitWrite() const EXCLUDES(mu_);

  struct State {
    bool read_only = false;
    std::string reason;           // why, while read_only ("" otherwise)
    uint64_t free_bytes = 0;      // at the last successful check
    uint64_t total_bytes = 0;
    uint64_t min_free_bytes = 0;  // the threshold for that file system; 0 = guard off
    uint64_t entered = 0;         // times read-only mode was entered since start
    uint64_t check_failures = 0;  // reads of the free space that failed
  };
  State state() const EXCLUDES(mu_);

 private:
  const DiskGuardOptions opts_;
  mutable Mutex mu_;
  State state_ GUARDED_BY(mu_);
};

}  // namespace loge::store
