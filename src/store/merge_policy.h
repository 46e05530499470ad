// MergePolicy: which files to merge next (docs/merges.md). A pure function
// of the file list, so the whole policy is unit-tested without files.
//
// Levels: flush files are level 0; a merge of flush files makes a level-1
// segment; a merge of segments makes one level above its highest input. A
// segment holding at least half of segment_bytes of line text is final and
// is never merged again (retention rewrites aside).
//
// Rules, in order:
//  1. Flush files (oldest first by max_ts) are merged when their line bytes
//     reach segment_bytes, when there are flush_merge_files of them, or when
//     the oldest has waited flush_merge_age: up to segment_bytes at once. At
//     a high ingest rate the first rule fires, so every line is written once
//     as a flush file and once more as a final segment.
//  2. Small segments (oldest first) are merged when fan_in of them wait or
//     their line bytes reach segment_bytes: up to segment_bytes at once.
//  With `force` (POST /api/v1/admin/compact), any flush file and any two
//  small segments are merged: the layout a benchmark or a test calls final.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace loge::store {

struct MergeFile {
  int64_t id = 0;
  int level = 0;             // 0 = flush file
  uint64_t line_bytes = 0;   // line text it holds
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  int64_t sealed_at = 0;     // unix ns when it was registered
  bool mergeable = true;     // local, WAL-safe and not in a running merge
};

struct MergePolicy {
  uint64_t segment_bytes = 256ull << 20;
  size_t flush_merge_files = 64;
  int64_t flush_merge_age_ns = 300'000'000'000;  // 5 minutes
  size_t fan_in = 8;
  size_t max_inputs = 512;   // files one merge reads at most
};

struct MergePick {
  std::vector<int64_t> ids;  // oldest first
  int output_level = 1;
  const char* reason = "";   // for the log
};

// True for a segment that no rule merges again.
bool IsFinal(const MergeFile& f, const MergePolicy& p);

std::optional<MergePick> PickMerge(const std::vector<MergeFile>& files, const MergePolicy& p, int64_t now_ns,
                                   bool force);

// What waits for merges: flush files and small segments a rule is due for,
// their line bytes, and how long the oldest flush file has waited.
struct Backlog {
  uint64_t files = 0;
  uint64_t bytes = 0;
  double lag_seconds = 0;
  uint64_t flush_files = 0;  // every flush file, due or not
};
Backlog BacklogOf(const std::vector<MergeFile>& files, const MergePolicy& p, int64_t now_ns);

}  // namespace loge::store
