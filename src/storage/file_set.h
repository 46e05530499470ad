// FileSet: the in-memory mirror of the catalog that queries read, with
// reference-counted file handles so a compacted or rotated file is deleted
// only after the last query using it lets go.
//
// Thread-safety: all methods are thread-safe (mu_). Handles are immutable
// after publication except for the `obsolete` flag.
#pragma once

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/mutex.h"
#include "storage/catalog.h"

namespace loge::io {
class FileSystem;
}

namespace loge::storage {

class FilterCache;
class SegmentReader;

class FileHandle {
 public:
  FileHandle(CatalogEntry e, std::string local_path, io::FileSystem* fs)
      : entry(std::move(e)), local_path(std::move(local_path)), fs_(fs) {}
  // A local format-2 segment whose group filters go to `cache` (kept there
  // now) and stay out of entry.filters (FileFilters::lazy) — what the store
  // publishes. Other files keep their filters as given (a format-3 file's
  // are mapped from the file already: SegmentWriter::WriteFile, ReadFilters).
  static std::shared_ptr<const FileHandle> Make(CatalogEntry e, std::string local_path, io::FileSystem* fs,
                                                std::shared_ptr<FilterCache> cache);
  // Unlinks the local file if MarkObsolete was called.
  ~FileHandle();
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;

  // The file left the catalog: delete it once nobody reads it any more.
  void MarkObsolete() const { obsolete_ = true; }
  // The file's filters with every group's filter: entry.filters unless it
  // is lazy; then the cache's copy, or the groups read from the local file
  // through `reader` (an open reader of this file; null: one is opened)
  // and cached. Null when the file has no filters.
  Result<FileFiltersPtr> GroupFilters(SegmentReader* reader) const;

  const CatalogEntry entry;
  const std::string local_path;  // full path of the local copy ("" for remote-only)

 private:
  io::FileSystem* fs_;
  std::shared_ptr<FilterCache> cache_;  // set when entry.filters is lazy
  mutable std::atomic<bool> obsolete_{false};
};

using FilePtr = std::shared_ptr<const FileHandle>;


class FileSet {
 public:
  void Add(FilePtr f) EXCLUDES(mu_);
  // Removes the files with these ids (marking them obsolete) and adds `add`
  // (may be null), as one step for readers.
  void Replace(const std::vector<int64_t>& remove_ids, FilePtr add) EXCLUDES(mu_);
  // The same with any number of files added (reconcile).
  void ReplaceMany(const std::vector<int64_t>& remove_ids, std::vector<FilePtr> add) EXCLUDES(mu_);
  // Puts `replacement` in place of the file with the same entry.id, as one
  // step for readers, and returns the file it replaced WITHOUT marking it
  // obsolete: the caller decides when its local copy may go (rotation keeps
  // it for a grace window, then calls MarkObsolete). Null when no file has
  // that id; `replacement` is then not added.
  FilePtr Swap(FilePtr replacement) EXCLUDES(mu_);
  // Removes the file with this id from what queries see and returns it
  // WITHOUT marking it obsolete (its bytes are kept: quarantine moves them
  // aside). Null when no file has that id (another caller took it first).
  FilePtr Take(int64_t id) EXCLUDES(mu_);
  std::vector<FilePtr> Snapshot() const EXCLUDES(mu_);
  size_t size() const EXCLUDES(mu_);

  // Claims: a worker that rewrites or moves files (a merge, the S3
  // rotation) claims them first, so no two workers take the same file and
  // none of them moves a file another is about to retire. All or nothing:
  // false, and nothing claimed, when any id is claimed already.
  bool Claim(const std::vector<int64_t>& ids) EXCLUDES(mu_);
  void Unclaim(const std::vector<int64_t>& ids) EXCLUDES(mu_);
  bool Claimed(int64_t id) const EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::vector<FilePtr> files_ GUARDED_BY(mu_);
  std::set<int64_t> claimed_ GUARDED_BY(mu_);
};

}  // namespace loge::storage
