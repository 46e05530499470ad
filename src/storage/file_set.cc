#include "storage/file_set.h"

#include <algorithm>

#include "io/file_system.h"
#include "storage/filter_cache.h"
#include "storage/segment_reader.h"

namespace loge::storage {

std::shared_ptr<const FileHandle> FileHandle::Make(CatalogEntry e, std::string local_path, io::FileSystem* fs,
                                                   std::shared_ptr<FilterCache> cache) {
  // Without a summary nothing would prune the file before its groups.
  const bool lazy = cache && e.tier == Tier::kLocal && e.kind == FileKind::kSegment && e.filters &&
                    !e.filters->lazy && !e.filters->mapped() && !e.filters->summary.empty() && !local_path.empty();
  if (lazy) {
    cache->Put(local_path, e.filters);
    e.filters = e.filters->WithoutGroupFilters();
  }
  auto h = std::make_shared<FileHandle>(std::move(e), std::move(local_path), fs);
  if (lazy) h->cache_ = std::move(cache);
  return h;
}

Result<FileFiltersPtr> FileHandle::GroupFilters(SegmentReader* reader) const {
  if (!entry.filters || !entry.filters->lazy) return entry.filters;
  if (cache_) {
    if (FileFiltersPtr f = cache_->Get(local_path)) return f;
  }
  std::unique_ptr<SegmentReader> own;
  if (reader == nullptr) {
    LOGE_ASSIGN_OR_RETURN(own, SegmentReader::Open(local_path));
    reader = own.get();
  }
  LOGE_ASSIGN_OR_RETURN(FileFiltersPtr f, reader->ReadFilters());
  if (!f || f->groups.size() != entry.filters->groups.size()) {
    return Status::Corruption(local_path + ": its group filters do not match what the store read at open");
  }
  if (cache_) cache_->Put(local_path, f);
  return f;
}

FileHandle::~FileHandle() {
  if (cache_ && obsolete_) cache_->Erase(local_path);
  if (obsolete_ && !local_path.empty() && fs_) {
    // Best effort: a file left behind is deleted by the next startup's
    // reconcile, since the catalog no longer names it.
    (void)fs_->Remove(local_path);
  }
}

void FileSet::Add(FilePtr f) {
  MutexLock l(&mu_);
  files_.push_back(std::move(f));
}

void FileSet::Replace(const std::vector<int64_t>& remove_ids, FilePtr add) {
  std::vector<FilePtr> adds;
  if (add) adds.push_back(std::move(add));
  ReplaceMany(remove_ids, std::move(adds));
}

void FileSet::ReplaceMany(const std::vector<int64_t>& remove_ids, std::vector<FilePtr> add) {
  std::vector<FilePtr> dropped;  // released after the lock: the last release may unlink
  {
    MutexLock l(&mu_);
    // stable_partition, not remove_if: remove_if leaves the removed elements
    // moved-from (null), and they are exactly the handles to mark obsolete.
    auto it = std::stable_partition(files_.begin(), files_.end(), [&](const FilePtr& f) {
      return std::find(remove_ids.begin(), remove_ids.end(), f->entry.id) == remove_ids.end();
    });
    dropped.assign(std::make_move_iterator(it), std::make_move_iterator(files_.end()));
    files_.erase(it, files_.end());
    for (auto& f : add) files_.push_back(std::move(f));
  }
  for (const auto& f : dropped) f->MarkObsolete();
}

FilePtr FileSet::Swap(FilePtr replacement) {
  MutexLock l(&mu_);
  for (auto& f : files_) {
    if (f->entry.id == replacement->entry.id) {
      f.swap(replacement);
      return replacement;  // now the old handle
    }
  }
  return nullptr;
}

FilePtr FileSet::Take(int64_t id) {
  MutexLock l(&mu_);
  for (auto it = files_.begin(); it != files_.end(); ++it) {
    if ((*it)->entry.id == id) {
      FilePtr f = std::move(*it);
      files_.erase(it);
      return f;
    }
  }
  return nullptr;
}

std::vector<FilePtr> FileSet::Snapshot() const {
  MutexLock l(&mu_);
  return files_;
}

size_t FileSet::size() const {
  MutexLock l(&mu_);
  return files_.size();
}

}  // namespace loge::storage

namespace loge::storage {

bool FileSet::Claim(const std::vector<int64_t>& ids) {
  MutexLock l(&mu_);
  for (int64_t id : ids) {
    if (claimed_.count(id)) return false;
  }
  claimed_.insert(ids.begin(), ids.end());
  return true;
}

void FileSet::Unclaim(const std::vector<int64_t>& ids) {
  MutexLock l(&mu_);
  for (int64_t id : ids) claimed_.erase(id);
}

bool FileSet::Claimed(int64_t id) const {
  MutexLock l(&mu_);
  return claimed_.count(id) > 0;
}

}  // namespace loge::storage
