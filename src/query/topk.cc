#include <xxhash.h>

#include <algorithm>

#include "query/engine.h"

namespace loge::query {

bool HitNewer(const Hit& a, const Hit& b) {
  if (a.ts != b.ts) return a.ts > b.ts;
  if (a.labels_json != b.labels_json) return a.labels_json < b.labels_json;
  return a.line < b.line;
}

bool TopK::Before(const Hit& a, const Hit& b) const {
  if (!oldest_) return HitNewer(a, b);
  if (a.ts != b.ts) return a.ts < b.ts;
  if (a.labels_json != b.labels_json) return a.labels_json < b.labels_json;
  return a.line < b.line;
}

namespace {

// Identity of a hit for duplicate detection: ts, labels and line (what
// HitNewer orders by, so identical hits are exactly the unordered pairs).
uint64_t HitHash(const Hit& h) {
  uint64_t x = XXH3_64bits_withSeed(h.line.data(), h.line.size(), static_cast<uint64_t>(h.ts));
  return XXH3_64bits_withSeed(h.labels_json.data(), h.labels_json.size(), x);
}

}  // namespace

bool TopK::Holds(const Hit& h, uint64_t hash) const {
  if (!hashes_.contains(hash)) return false;
  for (const Hit& k : heap_) {  // a hash match: a duplicate, rarely a collision
    if (k.ts == h.ts && k.line == h.line && k.labels_json == h.labels_json) return true;
  }
  return false;
}

int64_t TopK::Threshold() const {
  if (!Full() || heap_.empty()) {
    return oldest_ ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return heap_.front().ts;
}

// std heap functions keep the "largest" at the front; with Before as the
// comparator the largest is the last-ranked hit, the one to evict.
void TopK::Add(Hit h) {
  if (k_ == 0) return;
  auto less = [this](const Hit& a, const Hit& b) { return Before(a, b); };
  if (Full() && !Before(h, heap_.front())) return;
  const uint64_t hash = HitHash(h);
  if (Holds(h, hash)) return;
  hashes_[hash]++;
  if (!Full()) {
    heap_.push_back(std::move(h));
    std::push_heap(heap_.begin(), heap_.end(), less);
    return;
  }
  std::pop_heap(heap_.begin(), heap_.end(), less);
  auto evicted = hashes_.find(HitHash(heap_.back()));
  if (--evicted->second == 0) hashes_.erase(evicted);
  heap_.back() = std::move(h);
  std::push_heap(heap_.begin(), heap_.end(), less);
}

void TopK::Merge(TopK&& other) {
  for (auto& h : other.heap_) Add(std::move(h));
  other.heap_.clear();
  other.hashes_.clear();
}

std::vector<Hit> TopK::TakeSortedNewestFirst() {
  std::vector<Hit> out = std::move(heap_);
  heap_.clear();
  hashes_.clear();
  std::sort(out.begin(), out.end(), [this](const Hit& a, const Hit& b) { return Before(a, b); });
  return out;
}

bool Query::MatchesLabels(const Labels& labels) const {
  for (const auto& m : matchers) {
    if (!m.Matches(labels)) return false;
  }
  return true;
}

bool Query::MatchesLine(std::string_view line) const {
  for (const auto& f : line_filters) {
    if (!f.Matches(line)) return false;
  }
  return true;
}

}  // namespace loge::query
