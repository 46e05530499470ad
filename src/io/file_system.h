// FileSystem: the only way loge touches files, so tests can inject faults.
//
// Thread-safety: a FileSystem is safe to share; each WritableFile and
// RandomAccessFile is used by one thread at a time (RandomAccessFile::Read is
// positional and may be called concurrently).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace loge::io {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  virtual Status Sync() = 0;  // fdatasync: data durable on return
  virtual Status Close() = 0;
  virtual uint64_t Size() const = 0;  // bytes appended so far (plus the size at open)
};

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset into buf; *got is the count (short at EOF).
  virtual Status Read(uint64_t offset, size_t n, char* buf, size_t* got) const = 0;
  virtual uint64_t Size() const = 0;
};

// Bytes of a file mapped read-only into memory (mmap). The pages are the
// kernel's page cache: they are read on first touch and, being clean and
// file-backed, can be dropped under memory pressure and read again, where
// heap memory could not. Unmapped when the last reference goes; the file may
// be renamed or unlinked meanwhile (the mapping keeps its inode).
//
// A mapping's touched pages count in the process's resident set (RssFile)
// until the kernel reclaims them or Release() gives them back; Touch()
// records when a reader last used the bytes, so whoever bounds what stays
// resident (store/resident_filters.h) gives back the longest unused first.
class MappedRegion {
 public:
  virtual ~MappedRegion() = default;
  virtual std::string_view bytes() const = 0;
  // Takes the pages out of this process's resident set (MADV_DONTNEED).
  // They stay in the page cache and the next touch maps them again, so
  // readers may go on reading meanwhile.
  void Release() const {
    released_use_ms_.store(last_use_ms(), std::memory_order_relaxed);
    DoRelease();
  }

  void Touch() const;
  // When Touch() was last called (steady clock, ms); 0 if never.
  int64_t last_use_ms() const { return last_use_ms_.load(std::memory_order_relaxed); }
  // Whether a reader used the bytes since the last Release() (or, never
  // released, at all): only then can its pages be in the resident set
  // (mapping a file, even one just written, maps none of its pages in).
  bool UsedSinceRelease() const { return last_use_ms() > released_use_ms_.load(std::memory_order_relaxed); }

 protected:
  virtual void DoRelease() const {}  // a no-op where nothing is mapped

 private:
  mutable std::atomic<int64_t> last_use_ms_{0};
  mutable std::atomic<int64_t> released_use_ms_{0};
};

// Bytes of file-backed pages resident in this process (RssFile plus
// shared memory: /proc/self/statm's third field); 0 where unknown.
uint64_t FileResidentBytes();

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Creates (truncating) or opens for append.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                bool append) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> OpenRandomAccess(const std::string& path) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status Remove(const std::string& path) = 0;
  virtual Status SyncDir(const std::string& dir) = 0;
  virtual Status CreateDirs(const std::string& dir) = 0;
  // Names (not paths) of the entries in dir, unsorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // Maps [offset, offset + n) of path read-only. Unsupported by file
  // systems that cannot (callers then read the bytes instead).
  virtual Result<std::shared_ptr<const MappedRegion>> MapReadOnly(const std::string& path, uint64_t offset,
                                                                  size_t n);
};

// The POSIX file system; lives for the whole process.
FileSystem* DefaultFileSystem();

// Reads a whole file.
Result<std::string> ReadFileToString(FileSystem* fs, const std::string& path);

// Writes data to path atomically and durably:
//  1. write path.tmp, 2. fsync it, 3. rename over path, 4. fsync the directory.
Status WriteFileAtomic(FileSystem* fs, const std::string& path, std::string_view data);

std::string JoinPath(std::string_view dir, std::string_view name);
std::string DirName(std::string_view path);

}  // namespace loge::io
