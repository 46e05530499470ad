#include "storage/frame_cache.h"

#include <utility>

namespace loge::storage {

FrameCache::FrameCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}

FrameCache::~FrameCache() = default;

Result<FrameCache::Frame> FrameCache::Get(const FrameKey& key, const Loader& load, bool* hit) {
  if (hit != nullptr) *hit = false;
  auto flight = std::make_shared<Flight>();
  {
    MutexLock l(&mu_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      if (hit != nullptr) *hit = true;
      return it->second.frame;
    }
    if (auto it = flights_.find(key); it != flights_.end()) {
      std::shared_ptr<Flight> other = it->second;
      ++waiters_;
      flight_done_.wait(l.native(), [&] { return other->done; });
      --waiters_;
      if (!other->status.ok()) return other->status;
      if (hit != nullptr) *hit = true;
      return other->frame;
    }
    flights_.emplace(key, flight);
  }

  auto data = std::make_shared<std::string>();
  Status s = load(data.get());
  Frame frame = std::move(data);
  {
    MutexLock l(&mu_);
    flight->done = true;
    flight->status = s;
    if (s.ok()) flight->frame = frame;
    flights_.erase(key);
    if (s.ok()) InsertLocked(key, frame);
  }
  flight_done_.notify_all();
  if (!s.ok()) return s;
  return frame;
}

void FrameCache::InsertLocked(const FrameKey& key, Frame frame) {
  if (frame->size() > capacity_) return;  // would evict everything and still not fit
  lru_.push_front(key);
  usage_ += frame->size();
  bool inserted = entries_.try_emplace(key, Entry{std::move(frame), lru_.begin()}).second;
  LOGE_ASSERT(inserted, "BUG: a frame was cached while its load was in flight");
  EvictToFitLocked();
}

void FrameCache::EvictToFitLocked() {
  while (usage_ > capacity_ && !lru_.empty()) {
    auto it = entries_.find(lru_.back());
    usage_ -= it->second.frame->size();
    entries_.erase(it);
    lru_.pop_back();
  }
}

void FrameCache::SetCapacity(size_t bytes) {
  MutexLock l(&mu_);
  capacity_ = bytes;
  EvictToFitLocked();
}

void FrameCache::Clear() {
  MutexLock l(&mu_);
  entries_.clear();
  lru_.clear();
  usage_ = 0;
}

size_t FrameCache::Capacity() {
  MutexLock l(&mu_);
  return capacity_;
}

size_t FrameCache::Usage() {
  MutexLock l(&mu_);
  return usage_;
}

size_t FrameCache::TEST_Waiters() {
  MutexLock l(&mu_);
  return waiters_;
}

}  // namespace loge::storage
