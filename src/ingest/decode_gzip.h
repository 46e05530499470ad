// Content-Encoding: gzip and deflate, inflated with zlib under a hard output
// cap, so a compression bomb costs at most the cap in memory and the time to
// inflate that much.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace loge::ingest {

enum class ZlibWrapper {
  kGzip,     // RFC 1952 (Content-Encoding: gzip / x-gzip); concatenated members allowed
  kDeflate,  // Content-Encoding: deflate: RFC 1950 zlib stream, or a bare RFC 1951
             // deflate stream (some clients send that; told apart by the header check)
};

// Inflates `in` into *out. PayloadTooLarge as soon as the output would pass
// max_out bytes (nothing more is inflated); InvalidArgument for corrupt or
// truncated data or bytes after the end of the stream. *out is unspecified on
// failure.
Status Inflate(std::string_view in, ZlibWrapper wrapper, size_t max_out, std::string* out);

}  // namespace loge::ingest
