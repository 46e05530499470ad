// FilterCache: the group filters of local format-2 files, loaded on demand
// and kept within a byte budget (least recently used first out). Format-3
// files map theirs from the file instead (filter_frame.h) and never come here.
//
// A local format-2 segment keeps in memory only its summary, its common trigrams and
// its groups' ranges (FileFilters::lazy); a query whose needles its summary
// admits needs the groups' filters, which live in the file. They are read
// through the reader the query opened anyway and kept here, so the next
// needle over the same file does not read them again. A freshly merged
// segment's filters are put here as it is published: the newest files are
// the ones queries read most.
//
// Memory: what was 3 bytes per stored line for every file (docs/merges.md,
// "Memory") is now the budget plus ~0.7 bytes per line of summaries.
//
// Thread-safety: every method may be called from many threads (mu_).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/mutex.h"
#include "storage/filters.h"

namespace loge::storage {

class FilterCache {
 public:
  // capacity_bytes 0: nothing is kept (every lookup reads the file).
  explicit FilterCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}
  FilterCache(const FilterCache&) = delete;
  FilterCache& operator=(const FilterCache&) = delete;

  // The filters kept for `key` (a file's local path), or null.
  FileFiltersPtr Get(const std::string& key) EXCLUDES(mu_);
  // Keeps f for key (replacing what was there), then drops the least
  // recently used entries until the budget holds. A set larger than the
  // whole budget is not kept.
  void Put(const std::string& key, FileFiltersPtr f) EXCLUDES(mu_);
  // Forgets key (its file is gone).
  void Erase(const std::string& key) EXCLUDES(mu_);

  struct Stats {
    size_t bytes = 0;     // held now
    size_t entries = 0;
    uint64_t hits = 0;
    uint64_t misses = 0;  // each a read of the file's groups
  };
  Stats GetStats() const EXCLUDES(mu_);

 private:
  static size_t SizeOf(const FileFilters& f);
  void EraseLocked(const std::string& key) REQUIRES(mu_);
  using Lru = std::list<std::pair<std::string, FileFiltersPtr>>;  // most recent first
  const size_t capacity_;
  mutable Mutex mu_;
  Lru lru_ GUARDED_BY(mu_);
  std::unordered_map<std::string, Lru::iterator> index_ GUARDED_BY(mu_);
  size_t bytes_ GUARDED_BY(mu_) = 0;
  uint64_t hits_ GUARDED_BY(mu_) = 0;
  uint64_t misses_ GUARDED_BY(mu_) = 0;
};

}  // namespace loge::storage
