#include "store/merge_policy.h"

#include <algorithm>

namespace loge::store {

namespace {

std::vector<const MergeFile*> Sorted(const std::vector<MergeFile>& files, bool flush) {
  std::vector<const MergeFile*> out;
  for (const auto& f : files) {
    if ((f.level == 0) == flush) out.push_back(&f);
  }
  std::sort(out.begin(), out.end(), [](const MergeFile* a, const MergeFile* b) {
    return a->max_ts != b->max_ts ? a->max_ts < b->max_ts : a->id < b->id;
  });
  return out;
}

// The oldest files of `run` up to p.segment_bytes of line text (at least
// one) and p.max_inputs files.
std::vector<int64_t> TakeOldest(const std::vector<const MergeFile*>& run, const MergePolicy& p) {
  std::vector<int64_t> ids;
  uint64_t bytes = 0;
  for (const MergeFile* f : run) {
    if (!ids.empty() && (bytes + f->line_bytes > p.segment_bytes || ids.size() >= p.max_inputs)) break;
    ids.push_back(f->id);
    bytes += f->line_bytes;
  }
  return ids;
}

uint64_t SumBytes(const std::vector<const MergeFile*>& v) {
  uint64_t b = 0;
  for (const MergeFile* f : v) b += f->line_bytes;
  return b;
}

}  // namespace

bool IsFinal(const MergeFile& f, const MergePolicy& p) { return f.level > 0 && f.line_bytes >= p.segment_bytes / 2; }

std::optional<MergePick> PickMerge(const std::vector<MergeFile>& files, const MergePolicy& p, int64_t now_ns,
                                   bool force) {
  std::vector<MergeFile> ready;
  for (const auto& f : files) {
    if (f.mergeable && !IsFinal(f, p)) ready.push_back(f);
  }
  // 1. Flush files.
  auto flush = Sorted(ready, true);
  if (!flush.empty()) {
    int64_t oldest_sealed = flush.front()->sealed_at;
    for (const MergeFile* f : flush) oldest_sealed = std::min(oldest_sealed, f->sealed_at);
    const char* reason = nullptr;
    if (SumBytes(flush) >= p.segment_bytes) {
      reason = "flush files reached the segment size";
    } else if (flush.size() >= p.flush_merge_files) {
      reason = "flush file count";
    } else if (now_ns - oldest_sealed >= p.flush_merge_age_ns) {
      reason = "flush file age";
    } else if (force) {
      reason = "forced";
    }
    if (reason) return MergePick{TakeOldest(flush, p), 1, reason};
  }
  // 2. Small segments.
  auto small = Sorted(ready, false);
  if (small.size() >= 2) {
    const char* reason = nullptr;
    if (small.size() >= p.fan_in) {
      reason = "small segment count";
    } else if (SumBytes(small) >= p.segment_bytes) {
      reason = "small segments reached the segment size";
    } else if (force) {
      reason = "forced";
    }
    if (reason) {
      MergePick pick{TakeOldest(small, p), 1, reason};
      if (pick.ids.size() < 2) {
        // The oldest alone fills a segment: merge the next ones instead.
        std::vector<const MergeFile*> rest(small.begin() + 1, small.end());
        pick.ids = TakeOldest(rest, p);
        if (pick.ids.size() < 2) return std::nullopt;
      }
      int level = 1;
      for (int64_t id : pick.ids) {
        for (const MergeFile* f : small) {
          if (f->id == id) level = std::max(level, f->level + 1);
        }
      }
      pick.output_level = level;
      return pick;
    }
  }
  return std::nullopt;
}

Backlog BacklogOf(const std::vector<MergeFile>& files, const MergePolicy& p, int64_t now_ns) {
  Backlog b;
  int64_t oldest = now_ns;
  size_t small = 0;
  uint64_t small_bytes = 0;
  for (const auto& f : files) {
    if (f.level == 0) {
      b.flush_files++;
      b.files++;
      b.bytes += f.line_bytes;
      oldest = std::min(oldest, f.sealed_at);
    } else if (!IsFinal(f, p)) {
      small++;
      small_bytes += f.line_bytes;
    }
  }
  if (small >= p.fan_in || small_bytes >= p.segment_bytes) {
    b.files += small;
    b.bytes += small_bytes;
  }
  b.lag_seconds = b.flush_files ? static_cast<double>(now_ns - oldest) / 1e9 : 0;
  return b;
}

}  // namespace loge::store
