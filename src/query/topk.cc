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
  if (!Full()) {
    heap_.push_back(std::move(h));
    std::push_heap(heap_.begin(), heap_.end(), less);
    return;
  }
  if (!Before(h, heap_.front())) return;
  std::pop_heap(heap_.begin(), heap_.end(), less);
  heap_.back() = std::move(h);
  std::push_heap(heap_.begin(), heap_.end(), less);
}

void TopK::Merge(TopK&& other) {
  for (auto& h : other.heap_) Add(std::move(h));
  other.heap_.clear();
}

std::vector<Hit> TopK::TakeSortedNewestFirst() {
  std::vector<Hit> out = std::move(heap_);
  heap_.clear();
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
