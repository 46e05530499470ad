// HttpRangeFile: an io::RandomAccessFile over one HTTP(S) object, read with
// range requests (libcurl), for the zstd VFS's remote segments. No
// credentials: the URL is public or presigned (its query carries the auth).
//
// Open with an unknown size fetches the object's last kTailPrefetch bytes in
// one request (`Range: bytes=-N`): the answer's Content-Range gives the size,
// and the tail holds the seek table, which is then read from memory. Every
// other Read is one `Range: bytes=a-b` request for exactly what was asked.
//
// Failure (bounded, never a hang): connect_timeout to connect, a whole
// request at most request_timeout, and a transfer slower than 1 KiB/s for
// low_speed_time is aborted. kUnavailable for refused/timed-out connections
// and 5xx/429, kNotFound for 404, kIOError for other answers. A connection
// the server dropped is retried once (a stale keep-alive). Messages show the
// URL without its query string.
//
// Thread-safety: Read may be called from many threads at once; easy handles
// come from a process-wide idle pool so connections are reused.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "io/file_system.h"

namespace loge::tier {

struct HttpReadOptions {
  // Time allowed to connect (default 2 s: an outage must not stall a query).
  std::chrono::milliseconds connect_timeout{2000};
  // Time allowed for a whole request (default 10 s: a 256 KiB frame takes
  // milliseconds on a healthy link).
  std::chrono::milliseconds request_timeout{10000};
  // A transfer under 1 KiB/s for this long is aborted (default 3 s).
  std::chrono::seconds low_speed_time{3};
};

// Bytes fetched from the end of an object at open: the seek table of a
// segment of up to ~5,000 frames (12 bytes each) plus the 9-byte footer.
inline constexpr uint64_t kTailPrefetch = 64 * 1024;

class HttpRangeFile final : public io::RandomAccessFile {
 public:
  // known_size > 0: the object's size is known (a cached seek table), so
  // nothing is fetched now. 0: the tail is fetched to learn it.
  static Result<std::unique_ptr<HttpRangeFile>> Open(const std::string& url, uint64_t known_size,
                                                     const HttpReadOptions& opts);

  Status Read(uint64_t offset, size_t n, char* buf, size_t* got) const override;
  uint64_t Size() const override { return size_; }

 private:
  HttpRangeFile(std::string url, HttpReadOptions opts) : url_(std::move(url)), opts_(opts) {}

  std::string url_;       // as given, query string included
  HttpReadOptions opts_;
  uint64_t size_ = 0;     // object bytes
  std::string tail_;      // the object's last tail_.size() bytes (may be empty)
};

}  // namespace loge::tier
