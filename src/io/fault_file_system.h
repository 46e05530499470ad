// FaultFileSystem: a FileSystem that passes every call to another one and
// fails the ones a test picks, as a full or failing disk would: EIO or ENOSPC
// on a write (after writing half of it: a short write), a failed fsync of a
// file or a directory, a failed rename, remove or create. Reads never fail
// here (damaged files are a test of their own).
//
// Mutating calls are numbered from 1 in the order they happen; FailAt(n,
// err, times) fails call n and the times-1 after it (times 0: every call
// until Clear() — a disk that stays full until someone frees space). A test first runs its
// scenario without a fault to learn how many calls it makes, then once per
// call with that call failing (store/fault_test.cc).
//
// Thread-safety: any thread; calls from several threads are numbered in the
// order they take the mutex.
#pragma once

#include <atomic>
#include <string>

#include "core/mutex.h"
#include "io/file_system.h"

namespace loge::io {

class FaultFileSystem final : public FileSystem {
 public:
  explicit FaultFileSystem(FileSystem* base) : base_(base) {}

  // Fails mutating call n (1-based, counted from now) with err (EIO,
  // ENOSPC), and the times-1 calls after it; times 0: until Clear().
  void FailAt(uint64_t n, int err, uint64_t times) EXCLUDES(mu_);
  void Clear() EXCLUDES(mu_);       // no more faults
  void Reset() EXCLUDES(mu_);       // count from 0 again, no fault armed
  uint64_t calls() const EXCLUDES(mu_);     // mutating calls so far
  uint64_t injected() const EXCLUDES(mu_);  // calls failed so far
  std::string first_fault() const EXCLUDES(mu_);  // "sync flush-0-12.sqlite.zst.tmp", or ""

  // Counts one mutating call; the error to return when it is to fail.
  Status Check(const char* op, const std::string& path) EXCLUDES(mu_);

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, bool append) override;
  Result<std::unique_ptr<RandomAccessFile>> OpenRandomAccess(const std::string& path) override {
    return base_->OpenRandomAccess(path);
  }
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  Status CreateDirs(const std::string& dir) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override { return base_->ListDir(dir); }
  Result<uint64_t> FileSize(const std::string& path) override { return base_->FileSize(path); }
  bool Exists(const std::string& path) override { return base_->Exists(path); }
  Result<std::shared_ptr<const MappedRegion>> MapReadOnly(const std::string& path, uint64_t offset,
                                                          size_t n) override {
    return base_->MapReadOnly(path, offset, n);
  }

 private:
  FileSystem* const base_;
  mutable Mutex mu_;
  uint64_t calls_ GUARDED_BY(mu_) = 0;
  uint64_t fail_at_ GUARDED_BY(mu_) = 0;  // 0 = none
  int err_ GUARDED_BY(mu_) = 0;
  uint64_t times_ GUARDED_BY(mu_) = 0;  // 0 = until Clear()
  uint64_t injected_ GUARDED_BY(mu_) = 0;
  std::string first_fault_ GUARDED_BY(mu_);
};

}  // namespace loge::io
