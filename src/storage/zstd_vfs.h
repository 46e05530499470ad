// A read-only SQLite VFS ("loge-zstd") that serves `.sqlite.zst` files in the
// seekable zstd format by decompressing only the frames SQLite reads, with a
// process-wide LRU cache of decoded frames (../shared/specs/sqlite-vfs.md).
//
// Thread-safety: registration is once per process (RegisterZstdVfs is
// idempotent and thread-safe). Connections from many threads may read the same
// file; the frame cache is shared and locked internally, and a frame being
// decoded by one thread is waited for, not decoded twice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"

struct sqlite3;

namespace loge::storage {

inline constexpr const char* kZstdVfsName = "loge-zstd";

// Registers the VFS (not as the default). Safe to call many times.
Status RegisterZstdVfs();

// Sets the capacity of the decoded-frame cache in bytes (default 64 MiB).
void SetFrameCacheCapacity(size_t bytes);

// Opens path (a seekable-zstd-compressed SQLite database) read-only through
// the VFS with immutable=1 and PRAGMA temp_store=MEMORY. On success the caller
// owns *db and closes it with sqlite3_close. NotFound if the file is missing,
// Corruption if it is not a seekable file.
Status OpenCompressedDb(const std::string& path, sqlite3** db);

// Counters since process start, for tests and /metrics.
struct VfsStats {
  uint64_t frames_decompressed = 0;  // frames decoded from disk
  uint64_t cache_hits = 0;           // frame reads served by the cache
  uint64_t bytes_read = 0;           // compressed frame bytes read from files
};
VfsStats GetVfsStats();

// Drops every cached frame (tests use it to measure cold reads).
void TEST_ClearFrameCache();

}  // namespace loge::storage
