// LogThrottle: keeps a repeated log line from flooding the log. A failure
// that repeats in a tight loop (accept() at the file-descriptor limit, a
// disk that keeps failing) is logged once per interval per key; the copies
// in between are counted, reported with the next line that gets through,
// and added to a process-wide total (loge_log_suppressed_total on /metrics).
//
// Thread-safety: Allow() may be called from any threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/mutex.h"

namespace loge {

class LogThrottle {
 public:
  // One line per key per `every`. 10 s: a human reading the log sees the
  // problem at once and a flood costs a few lines a minute.
  explicit LogThrottle(std::chrono::steady_clock::duration every = std::chrono::seconds(10)) : every_(every) {}
  LogThrottle(const LogThrottle&) = delete;
  LogThrottle& operator=(const LogThrottle&) = delete;

  // True when a line with this key may be logged now; *suppressed is then
  // the number of copies dropped since the last one that got through (the
  // caller appends it to its line). False: drop the line (it is counted).
  bool Allow(std::string_view key, uint64_t* suppressed) EXCLUDES(mu_);
  // As Allow, with the clock given (tests).
  bool AllowAt(std::string_view key, std::chrono::steady_clock::time_point now, uint64_t* suppressed) EXCLUDES(mu_);

  // Lines dropped by every LogThrottle of the process since it started.
  static uint64_t TotalSuppressed();

 private:
  struct Slot {
    std::chrono::steady_clock::time_point last;
    uint64_t dropped = 0;
  };
  // Distinct keys kept at most; past it the map is cleared (keys are a
  // handful of call sites, so this only guards against a key built from
  // unbounded input).
  static constexpr size_t kMaxKeys = 1024;

  const std::chrono::steady_clock::duration every_;
  Mutex mu_;
  std::unordered_map<std::string, Slot> slots_ GUARDED_BY(mu_);
};

}  // namespace loge
