// Wal: the write-ahead log that makes an acknowledged push survive a crash.
//
// Files: <dir>/<20-digit first seq>.wal, each a sequence of records
//   [u32 length][u32 masked crc32c][u64 seq][payload]   (little-endian)
// where length = payload bytes, and the crc covers seq + payload
// (docs/format-wal.md). A file is rotated once it passes segment_bytes.
//
// Threads: callers of Append queue records under mu_; one writer thread
// (owned, a std::jthread) takes everything queued, writes it with one write()
// and one fdatasync (group commit), then wakes the waiters. Append with
// wait=true returns once its record is durable.
//
// Sequence numbers: assigned under mu_ in Append, strictly increasing, and
// written to disk in that order. The `on_assigned` callback runs under mu_
// right after assignment, so a caller can register the seq (for the
// checkpoint watermark) before any later seq exists.
//
// Errors: a failed write or fsync is sticky: every later Append fails with
// Unavailable until restart (STYLE.md), and Healthy() turns false.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "core/status.h"

namespace loge::io {
class FileSystem;
}

namespace loge::wal {

struct Options {
  std::string dir;                          // created if missing
  uint64_t segment_bytes = 32ull << 20;     // rotate after this many bytes (32 MiB)
  bool sync = true;                         // fdatasync on every group commit
  io::FileSystem* fs = nullptr;             // nullptr = io::DefaultFileSystem()
  // New appends get seqs of at least this, even if the WAL directory was
  // emptied: callers that remember seqs elsewhere (flush files, the persisted
  // watermark) pass their highest + 1 so a seq is never handed out twice.
  uint64_t min_next_seq = 1;
};

// A damaged region of a WAL file that replay skipped (docs/format-wal.md,
// "Damage"): its records were acknowledged once and are lost.
struct Damage {
  std::string file;     // path of the WAL file
  uint64_t offset = 0;  // where the first damaged record starts
  uint64_t bytes = 0;   // bytes skipped
  uint64_t records = 0; // records lost (from the seqs around the region; at least 1)
  uint64_t first_seq = 0;  // seq the first of them had: records lost are [first_seq, first_seq + records)
};

struct ReplayStats {
  uint64_t files = 0;          // WAL files read
  uint64_t records = 0;        // intact records handed to the replay function
  uint64_t dropped_bytes = 0;  // bytes of torn tails (never acknowledged), summed over files
  uint64_t max_seq = 0;        // highest seq replayed (0 if none)
  std::vector<Damage> damage;  // damaged regions skipped, over every file
  uint64_t corrupt_records = 0;  // sum of damage[i].records
  uint64_t corrupt_bytes = 0;    // sum of damage[i].bytes
};

// Called once per intact record during Open, in file order then record order.
// A non-OK Status aborts Open with that status.
using ReplayFn = std::function<Status(uint64_t seq, std::string_view payload)>;

class Wal {
 public:
  // Replays every existing file in dir through fn (a torn tail ends replay
  // of that file without failing, its bytes counted in stats->dropped_bytes;
  // a damaged record is skipped up to the next intact one and reported in
  // stats->damage), then starts a new file for appends whose first seq
  // is stats->max_seq + 1. Replayed files stay until DeleteUpTo removes them.
  static Result<std::unique_ptr<Wal>> Open(const Options& opts, const ReplayFn& fn,
                                           ReplayStats* stats);
  ~Wal();  // Close()s if not yet closed
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Assigns the next seq, calls on_assigned(seq) (may be empty) under the
  // ordering lock, and queues the record. With wait=true it returns after the
  // record is fsynced (or the write failed); with wait=false at once.
  Result<uint64_t> Append(std::string_view payload, bool wait,
                          const std::function<void(uint64_t)>& on_assigned);

  // Deletes every file, other than the one being appended to, whose records
  // all have seq <= watermark. Returns the number of files deleted. (Close
  // ends on a new empty file, so after a clean shutdown every file with
  // records can go.)
  Result<int> DeleteUpTo(uint64_t watermark);

  // True when every record is written and at or below the watermark (all
  // in flushed files). Then, if the active file holds records, asks the
  // writer to start a new file, so the next DeleteUpTo removes the old one:
  // a WAL that is caught up leaves nothing behind.
  bool RotateIfIdle(uint64_t watermark);
  // Whether a RotateIfIdle request waits for the writer (tests).
  bool TEST_RotationAsked() const;

  uint64_t BytesOnDisk() const;  // total size of all WAL files
  size_t FileCount() const;      // WAL files on disk, the active one included
  bool Healthy() const;          // false after a write or fsync failed
  // Latency of every group-commit fsync so far (none when opts.sync is off).
  Histogram::Snapshot FsyncSeconds() const;

  // Drains the queue, joins the writer, and if the active file holds records
  // rotates to an empty file named by the next seq; then closes it.
  Status Close();

 private:
  Wal() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loge::wal
