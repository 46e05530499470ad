#include "server/tail_queue.h"

namespace loge::server {

void TailQueue::Offer(const std::shared_ptr<const TailStream>& s, int64_t now) {
  const auto& entries = s->stream.entries;
  MutexLock l(&mu_);
  for (size_t i = 0; i < entries.size(); i++) {
    const size_t line = entries[i].line.size();
    const bool fits = items_.empty() || (items_.size() < max_entries_ && bytes_ + line <= max_bytes_);
    if (fits) {
      items_.push_back(Item{s, i, now});
      bytes_ += line;
      continue;
    }
    dropped_total_++;
    if (drops_.size() < kMaxDroppedListed) drops_.push_back(Drop{s, entries[i].ts});
  }
}

void TailQueue::Take(size_t max, int64_t ready_at, std::vector<Item>* items, std::vector<Drop>* drops) {
  MutexLock l(&mu_);
  // Once the oldest is due, the ones behind it ride along (delay_for is a
  // window within which entries are sorted together, as tail.h says).
  const bool due = !items_.empty() && items_.front().arrived <= ready_at;
  while (due && items->size() < max && !items_.empty()) {
    Item& it = items_.front();
    bytes_ -= it.stream->stream.entries[it.index].line.size();
    items->push_back(std::move(it));
    items_.pop_front();
  }
  drops->insert(drops->end(), drops_.begin(), drops_.end());
  drops_.clear();
}

std::optional<int64_t> TailQueue::OldestArrival() {
  MutexLock l(&mu_);
  if (items_.empty()) return std::nullopt;
  return items_.front().arrived;
}

uint64_t TailQueue::dropped_total() {
  MutexLock l(&mu_);
  return dropped_total_;
}

size_t TailQueue::size() {
  MutexLock l(&mu_);
  return items_.size();
}

}  // namespace loge::server
