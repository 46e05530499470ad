// Remote reads: lets the zstd VFS open segments by URL (http:// or https://)
// through HttpRangeFile, fetching only the frames SQLite reads, with seek
// tables and decoded frames cached per remote file (docs/s3.md "Remote
// reads"). `loge serve` enables it at startup when a bucket is configured;
// `loge search --local` enables it to scan cold segments itself.
//
// Thread-safety: every function is thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "core/status.h"

namespace loge::tier {

struct RemoteReadOptions {
  // Decoded frames kept per remote file (--s3-frame-cache-size, default 512).
  size_t frame_cache_frames = 512;
  // Decoded frame bytes kept over all remote files (default 256 MiB): the
  // bound on the cache's memory, whatever frame_cache_frames is.
  size_t frame_cache_bytes = 256ull << 20;
  // Remote files whose seek table (20 bytes per frame) is kept (default 256).
  size_t max_files = 256;
  // Time to connect to the object store (default 2 s).
  std::chrono::milliseconds connect_timeout{2000};
  // Time for one range request (default 10 s).
  std::chrono::milliseconds request_timeout{10000};
  // A transfer under 1 KiB/s for this long is aborted (default 3 s).
  std::chrono::seconds low_speed_time{3};
};

// Installs the HTTP range opener in the VFS and applies the cache limits.
// Idempotent: a later call replaces the options. InvalidArgument for a
// timeout that is not positive or a byte limit of 0.
Status EnableRemoteReads(const RemoteReadOptions& opts);

// Process-wide counters since start: HTTP requests made for remote reads and
// the response bytes they returned.
struct RemoteReadStats {
  uint64_t requests = 0;
  uint64_t bytes = 0;
};
RemoteReadStats GetRemoteReadStats();

}  // namespace loge::tier
