#include "tier/remote_reads.h"

#include "storage/zstd_vfs.h"
#include "tier/http_range_file.h"

namespace loge::tier {

Status EnableRemoteReads(const RemoteReadOptions& opts) {
  if (opts.connect_timeout.count() <= 0 || opts.request_timeout.count() <= 0 ||
      opts.low_speed_time.count() <= 0) {
    return Status::InvalidArgument("remote reads: timeouts must be positive");
  }
  if (opts.frame_cache_bytes == 0 || opts.max_files == 0) {
    return Status::InvalidArgument("remote reads: frame_cache_bytes and max_files must be positive");
  }
  LOGE_RETURN_IF_ERROR(storage::RegisterZstdVfs());
  storage::RemoteCacheLimits limits;
  limits.frames_per_file = opts.frame_cache_frames;
  limits.max_bytes = opts.frame_cache_bytes;
  limits.max_files = opts.max_files;
  storage::SetRemoteCacheLimits(limits);
  HttpReadOptions http;
  http.connect_timeout = opts.connect_timeout;
  http.request_timeout = opts.request_timeout;
  http.low_speed_time = opts.low_speed_time;
  storage::SetRemoteFileOpener(
      [http](const std::string& url, uint64_t known_size) -> Result<std::unique_ptr<io::RandomAccessFile>> {
        LOGE_ASSIGN_OR_RETURN(auto f, HttpRangeFile::Open(url, known_size, http));
        return std::unique_ptr<io::RandomAccessFile>(std::move(f));
      });
  return Status::OK();
}

RemoteReadStats GetRemoteReadStats() {
  storage::RemoteIoStats s = storage::GetRemoteIoStats();
  return {s.requests, s.bytes};
}

}  // namespace loge::tier
