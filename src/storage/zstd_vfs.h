// A read-only SQLite VFS ("loge-zstd") that serves `.sqlite.zst` files in the
// seekable zstd format by decompressing only the frames SQLite reads, with a
// process-wide LRU cache of decoded frames (../shared/specs/sqlite-vfs.md).
//
// Remote files: a name starting with http:// or https:// is opened through
// the opener installed with SetRemoteFileOpener (tier/remote_reads.h installs
// one on libcurl; storage links no HTTP client). Only the frames SQLite asks
// for are fetched, as range requests; seek tables and decoded frames of
// remote files are kept in a RemoteCache (remote_cache.h) keyed by the URL
// without its query string, so every presigned URL of one object shares them.
//
// Thread-safety: registration is once per process (RegisterZstdVfs is
// idempotent and thread-safe). Connections from many threads may read the same
// file; the frame cache is shared and locked internally, and a frame being
// decoded by one thread is waited for, not decoded twice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "storage/frame_cache.h"
#include "storage/remote_cache.h"
#include "storage/seekable_zstd.h"

struct sqlite3;

namespace loge::io {
class RandomAccessFile;
}

namespace loge::storage {

inline constexpr const char* kZstdVfsName = "loge-zstd";

// Registers the VFS (not as the default). Safe to call many times.
Status RegisterZstdVfs();

// Opens a seekable file the way the VFS does (a local path, or a remote
// URL through the opener and the cached seek table), for reading what
// SQLite does not: a format-3 file's filter frame (filter_frame.h).
Result<std::unique_ptr<SeekableReader>> OpenSeekable(const std::string& name);

// Sets the capacity of the decoded-frame cache in bytes (default 64 MiB).
void SetFrameCacheCapacity(size_t bytes);

// Opens path (a seekable-zstd-compressed SQLite database) read-only through
// the VFS with immutable=1 and PRAGMA temp_store=MEMORY. On success the caller
// owns *db and closes it with sqlite3_close. NotFound if the file is missing,
// Corruption if it is not a seekable file.
Status OpenCompressedDb(const std::string& path, sqlite3** db);

// While alive, local frames decoded on this thread go to a private cache of
// `bytes` instead of the shared one: a merge reads its inputs once, and
// should neither evict the frames queries keep hot nor grow with its inputs.
class ScopedFrameCache {
 public:
  explicit ScopedFrameCache(size_t bytes);
  ~ScopedFrameCache();
  ScopedFrameCache(const ScopedFrameCache&) = delete;
  ScopedFrameCache& operator=(const ScopedFrameCache&) = delete;

 private:
  std::unique_ptr<FrameCache> cache_;
  FrameCache* previous_;
};

// Counters since process start, for tests and /metrics.
struct VfsStats {
  uint64_t frames_decompressed = 0;  // frames decoded from disk
  uint64_t cache_hits = 0;           // frame reads served by the cache
  uint64_t bytes_read = 0;           // compressed frame bytes read from files
};
VfsStats GetVfsStats();

// Drops every cached frame (tests use it to measure cold reads).
void TEST_ClearFrameCache();

// ---- Remote files ----------------------------------------------------------

// True for the names read through the remote opener: "http://…", "https://…".
bool IsRemoteUrl(std::string_view name);

// The remote cache's key for a URL, and the form every message shows: the
// URL without its query string (which, for a presigned URL, holds the
// signature: it differs between URLs of one object and must not be logged).
std::string RemoteCacheKey(std::string_view url);

// Opens `url` for range reads. known_size is the object's size when the VFS
// already knows it (from a cached seek table), so the opener need not ask;
// 0 = unknown. Failure: kUnavailable when the server cannot be reached in
// time or answers 5xx, kNotFound for 404, kIOError for any other refusal.
using RemoteFileOpener = std::function<Result<std::unique_ptr<io::RandomAccessFile>>(
    const std::string& url, uint64_t known_size)>;

// Installs (or, with an empty function, removes) the opener for remote
// names. Until one is installed, opening a remote name is kUnavailable.
void SetRemoteFileOpener(RemoteFileOpener opener);
bool HasRemoteFileOpener();

// Limits of the cache of remote seek tables and decoded frames.
void SetRemoteCacheLimits(const RemoteCacheLimits& limits);
RemoteCacheLimits GetRemoteCacheLimits();

// Remote I/O counters. The opener's files call CountRemoteRequest once per
// HTTP request, with the body bytes received.
struct RemoteIoStats {
  uint64_t requests = 0;  // HTTP requests made
  uint64_t bytes = 0;     // response body bytes received
};
void CountRemoteRequest(uint64_t bytes);
RemoteIoStats GetRemoteIoStats();         // the whole process, since start
RemoteIoStats ThisThreadRemoteIoStats();  // this thread only, since it started

// Remote files known to the cache and the decoded bytes it holds; frames
// cached for one URL (any query string).
struct RemoteCacheStats {
  size_t files = 0;
  size_t bytes = 0;
};
RemoteCacheStats GetRemoteCacheStats();
size_t RemoteFramesCached(std::string_view url);
void TEST_ClearRemoteCache();

// SQLite reports a failed xRead only as SQLITE_IOERR. This returns the cause
// of the calling thread's last failed read (OK when none) and clears it, so
// a reader can tell an unreachable store (kUnavailable) from bad bytes.
Status TakeVfsReadError();

}  // namespace loge::storage
