#include "core/log_throttle.h"

#include <atomic>

namespace loge {

namespace {
std::atomic<uint64_t> g_suppressed{0};
}  // namespace

bool LogThrottle::Allow(std::string_view key, uint64_t* suppressed) {
  return AllowAt(key, std::chrono::steady_clock::now(), suppressed);
}

bool LogThrottle::AllowAt(std::string_view key, std::chrono::steady_clock::time_point now, uint64_t* suppressed) {
  MutexLock l(&mu_);
  auto it = slots_.find(std::string(key));
  if (it == slots_.end()) {
    if (slots_.size() >= kMaxKeys) slots_.clear();
    slots_.emplace(std::string(key), Slot{now, 0});
    *suppressed = 0;
    return true;
  }
  Slot& s = it->second;
  if (now - s.last < every_) {
    s.dropped++;
    g_suppressed.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  *suppressed = s.dropped;
  s.dropped = 0;
  s.last = now;
  return true;
}

uint64_t LogThrottle::TotalSuppressed() { return g_suppressed.load(std::memory_order_relaxed); }

}  // namespace loge
