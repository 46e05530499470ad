// Cancel: when a running query must stop — its deadline (--query-timeout)
// passed, or its client went away. Every read path checks the same object
// through Query::Interrupted(): the scanner between files and per block
// (scanner.cc), the head per kCheckEvery rows (ingest/head.cc), so a check
// costs one relaxed atomic load and one steady-clock read per block, never
// per line.
//
// How a query gets one: the server wraps each read request in a
// ScopedCancel on its handler thread; DataSource::Clip, which every engine
// entry point calls first, copies CurrentCancel() into the query, and the
// scanner's worker threads reach it through the query they were given.
//
// Thread-safety: a Cancel is immutable after construction except for the
// client-gone flag, which another thread sets; Check() may run on any
// threads at once. ScopedCancel/CurrentCancel are per thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "core/status.h"

namespace loge::query {

class Cancel {
 public:
  using Clock = std::chrono::steady_clock;
  // `timeout` from now (zero or negative: none); `gone` set by whoever sees
  // the client leave (null: never).
  Cancel(Clock::duration timeout, std::shared_ptr<const std::atomic<bool>> gone);
  // OK while the query may run on. DeadlineExceeded (Loki's 504 message)
  // past the deadline; Cancelled once the client went away.
  Status Check() const;

 private:
  const bool has_deadline_;
  const Clock::time_point deadline_;
  const Clock::duration timeout_;
  const std::shared_ptr<const std::atomic<bool>> gone_;
};

// Rows of the head scanned between two checks: a few microseconds of work
// even with a costly filter, and negligible next to it.
inline constexpr size_t kCheckEvery = 1024;

// Makes `c` the current thread's CurrentCancel() until destroyed (then the
// previous one again).
class ScopedCancel {
 public:
  explicit ScopedCancel(std::shared_ptr<const Cancel> c);
  ~ScopedCancel();
  ScopedCancel(const ScopedCancel&) = delete;
  ScopedCancel& operator=(const ScopedCancel&) = delete;

 private:
  std::shared_ptr<const Cancel> prev_;
};

// The cancel of the request this thread serves, or null.
const std::shared_ptr<const Cancel>& CurrentCancel();

}  // namespace loge::query
