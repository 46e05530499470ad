// gzip / deflate bodies -> bytes, with zlib's streaming inflate.
//
// The output buffer grows geometrically up to max_out + 1 bytes: inflating
// one byte past the cap proves the body is too large without inflating the
// rest, so the cost of a bomb is bounded by the cap, not by its ratio (deflate
// reaches ~1032:1).
#include "ingest/decode_gzip.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

namespace loge::ingest {
namespace {

// First output buffer: a guess at the ratio of typical log text (4-10x), so
// most bodies inflate without a regrow; capped by max_out anyway.
constexpr size_t kFirstGuessRatio = 4;
constexpr size_t kMinFirstBuffer = 64 << 10;

// zlib counts in uInt (32 bits); feed and drain at most this much per call.
constexpr size_t kMaxChunk = 1u << 30;

// RFC 1950 header check: CM = 8 (deflate), CINFO <= 7, FCHECK makes the
// first two bytes a multiple of 31. A bare deflate stream passes by chance
// with probability ~1/500 and then fails as corrupt.
bool LooksLikeZlib(std::string_view in) {
  if (in.size() < 2) return false;
  const unsigned b0 = static_cast<unsigned char>(in[0]);
  const unsigned b1 = static_cast<unsigned char>(in[1]);
  return (b0 & 0x0f) == 8 && (b0 >> 4) <= 7 && ((b0 << 8) | b1) % 31 == 0;
}

bool IsGzipMagic(std::string_view in) {
  return in.size() >= 2 && static_cast<unsigned char>(in[0]) == 0x1f && static_cast<unsigned char>(in[1]) == 0x8b;
}

// Owns a z_stream between inflateInit2 and inflateEnd.
class Inflater {
 public:
  Inflater() = default;
  ~Inflater() {
    if (live_) inflateEnd(&zs_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  int Init(int window_bits) {
    int rc = inflateInit2(&zs_, window_bits);
    live_ = rc == Z_OK;
    return rc;
  }
  z_stream* z() { return &zs_; }

 private:
  z_stream zs_{};
  bool live_ = false;
};

}  // namespace

Status Inflate(std::string_view in, ZlibWrapper wrapper, size_t max_out, std::string* out) {
  const char* what = wrapper == ZlibWrapper::kGzip ? "gzip" : "deflate";
  int window_bits = MAX_WBITS;
  if (wrapper == ZlibWrapper::kGzip) {
    window_bits = 16 + MAX_WBITS;
  } else if (!LooksLikeZlib(in)) {
    window_bits = -MAX_WBITS;  // raw deflate
  }
  Inflater inf;
  if (inf.Init(window_bits) != Z_OK) {
    return Status::ResourceExhausted(std::string(what) + ": cannot initialise zlib (out of memory)");
  }
  z_stream* zs = inf.z();

  // One byte beyond the cap, to detect "too large" by producing it.
  const size_t hard = max_out == std::numeric_limits<size_t>::max() ? max_out : max_out + 1;
  out->clear();
  out->resize(std::min(hard, std::max(kMinFirstBuffer, in.size() * kFirstGuessRatio)));
  size_t produced = 0;
  size_t consumed = 0;
  for (;;) {
    if (produced == out->size()) {
      if (out->size() >= hard) break;  // cap reached with more to come
      out->resize(std::min(hard, out->size() * 2));
    }
    const size_t in_chunk = std::min(kMaxChunk, in.size() - consumed);
    const size_t out_chunk = std::min(kMaxChunk, out->size() - produced);
    zs->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + consumed));
    zs->avail_in = static_cast<uInt>(in_chunk);
    zs->next_out = reinterpret_cast<Bytef*>(out->data() + produced);
    zs->avail_out = static_cast<uInt>(out_chunk);
    const int rc = inflate(zs, Z_NO_FLUSH);
    consumed += in_chunk - zs->avail_in;
    produced += out_chunk - zs->avail_out;
    if (produced > max_out) break;
    if (rc == Z_STREAM_END) {
      std::string_view rest = in.substr(consumed);
      if (rest.empty()) {
        out->resize(produced);
        return Status::OK();
      }
      // gzip allows members back to back (`cat a.gz b.gz`); anything else
      // after the end is not part of a valid body.
      if (wrapper == ZlibWrapper::kGzip && IsGzipMagic(rest) && inflateReset(zs) == Z_OK) continue;
      return Status::InvalidArgument(std::string(what) + ": " + std::to_string(rest.size()) +
                                     " bytes after the end of the compressed stream");
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR) {
      if (zs->avail_out == 0) continue;  // needs more room: grow above
      return Status::InvalidArgument(std::string(what) + ": truncated compressed body");
    }
    if (rc == Z_MEM_ERROR) return Status::ResourceExhausted(std::string(what) + ": out of memory while inflating");
    if (rc == Z_NEED_DICT) {
      return Status::InvalidArgument(std::string(what) + ": stream needs a preset dictionary (not supported)");
    }
    return Status::InvalidArgument(std::string(what) + ": corrupt compressed body" +
                                   (zs->msg != nullptr ? std::string(" (") + zs->msg + ")" : std::string()));
  }
  return Status::PayloadTooLarge(std::string(what) + ": body inflates to more than the limit of " +
                                 std::to_string(max_out) + " bytes");
}

}  // namespace loge::ingest
