// Compactor: merges the oldest flush files into one time-local segment with
// whole-token and trigram filters, so queries open fewer, larger, prunable
// files.
//
// DESIGN (threads): Start() runs one thread that wakes every `interval` (or
// on Stop) and calls Compact() until fewer than min_files flush files are
// eligible. Compact() may also be called directly (tests, admin endpoint);
// passes are serialised by pass_mu_. All file, compression and SQLite work
// happens without any lock other than pass_mu_.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/mutex.h"
#include "core/status.h"
#include "storage/catalog.h"
#include "storage/file_set.h"

namespace loge::io {
class FileSystem;
}

namespace loge::storage {

struct CompactorOptions {
  std::string dir;                                    // --output-path
  std::chrono::milliseconds interval{30000};          // --compact-interval; 0 disables the thread
  size_t min_files = 8;                               // --compact-min-files
  size_t max_files = 256;                             // flush files merged in one pass at most
  uint64_t max_input_bytes = 96ull << 20;             // line bytes merged in one pass at most (bounds memory)
  int level = 15;                                     // zstd level of segments (docs/benchmarks.md)
  size_t frame_size = 256 * 1024;                     // seekable frame of segments (docs/format-segment.md)
  int threads = 2;                                    // frames compressed in parallel
  // Lines per group of blocks with its own token and trigram filters
  // (--compact-block-filter-lines; 0 = segment-level filters only).
  size_t block_filter_lines = 1024;
  io::FileSystem* fs = nullptr;                       // nullptr = io::DefaultFileSystem()
  // Flush files whose max_wal_seq is above this are not compacted yet: their
  // WAL records may still be replayed, and replay recognises stored parts
  // only by the flush file's own meta.
  std::function<uint64_t()> safe_wal_seq;
};

struct CompactionStats {
  uint64_t passes = 0;
  uint64_t files_in = 0;
  uint64_t segments_out = 0;
  uint64_t rows = 0;
  double seconds = 0;  // time spent in passes that produced a segment
};

class Compactor {
 public:
  // Does not own catalog or files; both must outlive it.
  Compactor(const CompactorOptions& opts, Catalog* catalog, FileSet* files);
  ~Compactor();  // Stop()s
  Compactor(const Compactor&) = delete;
  Compactor& operator=(const Compactor&) = delete;

  void Start();
  void Stop();

  // Runs one pass: merges the oldest eligible flush files (if at least
  // min_files) into one segment. Returns how many files it merged (0 = none).
  Result<int> Compact() EXCLUDES(pass_mu_);
  // Compacts until fewer than min_files are eligible.
  Status CompactAll();

  CompactionStats stats() const EXCLUDES(stats_mu_);

  // Called between the crash-safe steps of a pass (see compactor.cc) with the
  // step number; a non-OK status abandons the pass right there, as a crash
  // would (tests).
  std::function<Status(int step)> TEST_step_hook;

 private:
  void Loop(std::stop_token st);
  const CompactorOptions opts_;
  Catalog* const catalog_;
  FileSet* const files_;
  io::FileSystem* const fs_;
  Mutex pass_mu_;
  mutable Mutex stats_mu_;
  CompactionStats stats_ GUARDED_BY(stats_mu_);
  std::jthread thread_;
};

// Catalog state key of the next segment id.
inline constexpr const char* kNextSegmentIdKey = "next_segment_id";

}  // namespace loge::storage
