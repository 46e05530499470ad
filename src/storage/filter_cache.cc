#include "storage/filter_cache.h"

namespace loge::storage {

size_t FilterCache::SizeOf(const FileFilters& f) {
  return f.Bytes() + f.groups.size() * sizeof(GroupFilter) + sizeof(FileFilters);
}

FileFiltersPtr FilterCache::Get(const std::string& key) {
  MutexLock l(&mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    misses_++;
    return nullptr;
  }
  hits_++;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void FilterCache::Put(const std::string& key, FileFiltersPtr f) {
  if (!f) return;
  const size_t size = SizeOf(*f);
  MutexLock l(&mu_);
  EraseLocked(key);
  if (size > capacity_) return;
  lru_.emplace_front(key, std::move(f));
  index_[key] = lru_.begin();
  bytes_ += size;
  while (bytes_ > capacity_ && !lru_.empty()) {
    const std::string oldest = lru_.back().first;  // a copy: erasing frees the list's
    EraseLocked(oldest);
  }
}

void FilterCache::Erase(const std::string& key) {
  MutexLock l(&mu_);
  EraseLocked(key);
}

void FilterCache::EraseLocked(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  bytes_ -= SizeOf(*it->second->second);
  lru_.erase(it->second);
  index_.erase(it);
}

FilterCache::Stats FilterCache::GetStats() const {
  MutexLock l(&mu_);
  return Stats{bytes_, index_.size(), hits_, misses_};
}

}  // namespace loge::storage
