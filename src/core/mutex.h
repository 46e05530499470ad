// An annotated mutex so clang's -Wthread-safety checks GUARDED_BY/REQUIRES.
// Under GCC the annotations compile to nothing.
//
// Thread-safety: it is the lock.
#pragma once

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define LOGE_TSA(x) __attribute__((x))
#else
#define LOGE_TSA(x)
#endif

#define CAPABILITY(x) LOGE_TSA(capability(x))
#define SCOPED_CAPABILITY LOGE_TSA(scoped_lockable)
#define GUARDED_BY(x) LOGE_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) LOGE_TSA(pt_guarded_by(x))
#define REQUIRES(...) LOGE_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) LOGE_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) LOGE_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) LOGE_TSA(release_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS LOGE_TSA(no_thread_safety_analysis)

namespace loge {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// Scoped lock; also the handle a CondVar waits with.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : lock_(mu->native()) {}
  ~MutexLock() RELEASE() = default;
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

using CondVar = std::condition_variable;

}  // namespace loge
