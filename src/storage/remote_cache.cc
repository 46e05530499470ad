#include "storage/remote_cache.h"

#include <algorithm>

#include "storage/seekable_zstd.h"

namespace loge::storage {

void RemoteCache::SetLimits(RemoteCacheLimits limits) {
  MutexLock l(&mu_);
  limits_ = limits;
  EnforceLocked(nullptr);
}

RemoteCacheLimits RemoteCache::Limits() {
  MutexLock l(&mu_);
  return limits_;
}

std::shared_ptr<const SeekTable> RemoteCache::Table(const std::string& key) {
  MutexLock l(&mu_);
  auto it = files_.find(key);
  if (it == files_.end()) return nullptr;
  TouchLocked(it->second);
  return it->second.table;
}

void RemoteCache::PutTable(const std::string& key, std::shared_ptr<const SeekTable> table) {
  MutexLock l(&mu_);
  auto [it, inserted] = files_.try_emplace(key);
  File& f = it->second;
  if (inserted) {
    files_lru_.push_front(key);
    f.pos = files_lru_.begin();
  } else {
    TouchLocked(f);
  }
  f.table = std::move(table);
  EnforceLocked(&f);
}

Result<RemoteCache::Frame> RemoteCache::GetFrame(const std::string& key, uint64_t frame,
                                                 const Loader& load, bool* hit) {
  if (hit != nullptr) *hit = false;
  auto flight = std::make_shared<Flight>();
  const auto fkey = std::make_pair(key, frame);
  {
    MutexLock l(&mu_);
    if (auto fit = files_.find(key); fit != files_.end()) {
      File& f = fit->second;
      if (auto it = f.frames.find(frame); it != f.frames.end()) {
        f.lru.splice(f.lru.begin(), f.lru, it->second.second);
        TouchLocked(f);
        if (hit != nullptr) *hit = true;
        return it->second.first;
      }
    }
    if (auto it = flights_.find(fkey); it != flights_.end()) {
      std::shared_ptr<Flight> other = it->second;
      flight_done_.wait(l.native(), [&] { return other->done; });
      if (!other->status.ok()) return other->status;
      if (hit != nullptr) *hit = true;
      return other->frame;
    }
    flights_.emplace(fkey, flight);
  }

  auto data = std::make_shared<std::string>();
  Status s = load(data.get());
  Frame loaded = std::move(data);
  {
    MutexLock l(&mu_);
    flight->done = true;
    flight->status = s;
    if (s.ok()) flight->frame = loaded;
    flights_.erase(fkey);
    auto fit = files_.find(key);
    // The file may have been evicted while the frame loaded: then the frame
    // serves this read only.
    if (s.ok() && fit != files_.end() && limits_.frames_per_file > 0 &&
        loaded->size() <= limits_.max_bytes) {
      File& f = fit->second;
      f.lru.push_front(frame);
      f.frames.emplace(frame, std::make_pair(loaded, f.lru.begin()));
      f.bytes += loaded->size();
      bytes_ += loaded->size();
      TouchLocked(f);
      EnforceLocked(&f);
    }
  }
  flight_done_.notify_all();
  if (!s.ok()) return s;
  return loaded;
}

void RemoteCache::TouchLocked(File& f) { files_lru_.splice(files_lru_.begin(), files_lru_, f.pos); }

void RemoteCache::EvictFrameLocked(File& f) {
  const uint64_t victim = f.lru.back();
  auto it = f.frames.find(victim);
  const size_t n = it->second.first->size();
  f.bytes -= n;
  bytes_ -= n;
  f.frames.erase(it);
  f.lru.pop_back();
}

void RemoteCache::EvictFileLocked(const std::string& key) {
  auto it = files_.find(key);
  bytes_ -= it->second.bytes;
  files_lru_.erase(it->second.pos);
  files_.erase(it);
}

// Restores the limits. `keep` (may be null) is the file just used: other
// files give up frames before it does, and it is never evicted as a file
// (it is the most recently used, so max_files >= 1 keeps it).
void RemoteCache::EnforceLocked(File* keep) {
  for (auto& entry : files_) {
    File& f = entry.second;
    while (f.frames.size() > limits_.frames_per_file) EvictFrameLocked(f);
  }
  while (files_.size() > std::max<size_t>(limits_.max_files, 1)) {
    EvictFileLocked(files_lru_.back());
  }
  // Oldest frames of the least recently used files first.
  auto it = files_lru_.end();
  while (bytes_ > limits_.max_bytes && it != files_lru_.begin()) {
    --it;
    File& f = files_.find(*it)->second;
    if (&f == keep) continue;
    while (bytes_ > limits_.max_bytes && !f.frames.empty()) EvictFrameLocked(f);
  }
  if (keep != nullptr) {
    while (bytes_ > limits_.max_bytes && !keep->frames.empty()) EvictFrameLocked(*keep);
  }
  LOGE_ASSERT(bytes_ <= limits_.max_bytes, "BUG: remote frame cache over its byte limit after eviction");
}

size_t RemoteCache::Files() {
  MutexLock l(&mu_);
  return files_.size();
}

size_t RemoteCache::Bytes() {
  MutexLock l(&mu_);
  return bytes_;
}

size_t RemoteCache::FramesOf(const std::string& key) {
  MutexLock l(&mu_);
  auto it = files_.find(key);
  return it == files_.end() ? 0 : it->second.frames.size();
}

void RemoteCache::Clear() {
  MutexLock l(&mu_);
  files_.clear();
  files_lru_.clear();
  bytes_ = 0;
}

}  // namespace loge::storage
