#include "store/resident_filters.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "io/file_system.h"

namespace loge::store {

ResidentFilters::ResidentFilters(uint64_t limit, std::function<uint64_t()> resident)
    : limit_(limit), resident_(std::move(resident)), baseline_(resident_()) {
  if (limit_ != 0 && baseline_ == 0) {
    spdlog::warn("filters: the process's resident set cannot be read (/proc/self/statm): "
                 "--filter-resident-size is not enforced");
  }
}

void ResidentFilters::Check(std::vector<std::shared_ptr<const io::MappedRegion>> regions) {
  const uint64_t now = resident_();
  const uint64_t above = now > baseline_ ? now - baseline_ : 0;
  resident_bytes_.store(above, std::memory_order_relaxed);
  if (limit_ == 0 || above <= limit_) return;
  const uint64_t need = above - limit_ / 4 * 3;
  // Mappings no reader used since they were last released (or ever: a file
  // just written is mapped with none of its pages in) hold nothing to give.
  std::erase_if(regions, [](const auto& r) { return !r->UsedSinceRelease(); });
  // Longest unused first; among equals, the larger first (fewer to release).
  std::sort(regions.begin(), regions.end(), [](const auto& a, const auto& b) {
    if (a->last_use_ms() != b->last_use_ms()) return a->last_use_ms() < b->last_use_ms();
    return a->bytes().size() > b->bytes().size();
  });
  // A mapping's size bounds what it holds resident: releasing mappings that
  // cover `need` frees at most that much, and the next check goes on if the
  // resident set is still above the limit.
  uint64_t covered = 0;
  for (const auto& r : regions) {
    if (covered >= need) break;
    r->Release();
    covered += r->bytes().size();
    releases_.fetch_add(1, std::memory_order_relaxed);
  }
  released_bytes_.fetch_add(covered, std::memory_order_relaxed);
  const uint64_t after = resident_();
  resident_bytes_.store(after > baseline_ ? after - baseline_ : 0, std::memory_order_relaxed);
}

ResidentFilters::Stats ResidentFilters::GetStats() const {
  Stats s;
  s.resident_bytes = resident_bytes_.load(std::memory_order_relaxed);
  s.released_bytes = released_bytes_.load(std::memory_order_relaxed);
  s.releases = releases_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace loge::store
