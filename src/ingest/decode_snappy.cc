// Snappy block format (google/snappy format_description.txt): a varint of the
// uncompressed length, then literals and back-references. The cheapest way to
// expand is a 2-byte-offset copy: 3 bytes of input for 64 bytes of output, so
// a block can never expand more than 64/3 times (plus the preamble). A
// declared length beyond that is a lie, refused before allocating it, so a
// five-byte body cannot make the server allocate --max-body-size.
#include "ingest/decode_snappy.h"

#include <snappy.h>

namespace loge::ingest {
namespace {

// Upper bound on output bytes per input byte (see above), rounded up.
constexpr size_t kMaxExpansion = 22;

// The framed format starts with chunk type 0xff (stream identifier).
constexpr unsigned char kFramedStreamId = 0xff;

}  // namespace

Status SnappyUncompress(std::string_view in, size_t max_out, std::string* out) {
  if (in.empty()) return Status::InvalidArgument("snappy: empty body");
  if (static_cast<unsigned char>(in[0]) == kFramedStreamId) {
    return Status::InvalidArgument(
        "snappy: body is in the framed (stream) format; Loki push bodies are a raw snappy block");
  }
  size_t n = 0;
  if (!snappy::GetUncompressedLength(in.data(), in.size(), &n)) {
    return Status::InvalidArgument("snappy: bad length preamble");
  }
  if (n > max_out) {
    return Status::PayloadTooLarge("snappy: body declares " + std::to_string(n) +
                                   " uncompressed bytes, more than the limit of " + std::to_string(max_out));
  }
  if (n / kMaxExpansion > in.size()) {
    return Status::InvalidArgument("snappy: declared length of " + std::to_string(n) + " bytes is impossible for a " +
                                   std::to_string(in.size()) + "-byte block");
  }
  out->clear();
  if (!snappy::Uncompress(in.data(), in.size(), out)) {
    return Status::InvalidArgument("snappy: corrupt compressed block");
  }
  return Status::OK();
}

}  // namespace loge::ingest
