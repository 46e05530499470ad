// Raw snappy *block* bodies (what Loki's protobuf push carries), decoded with
// libsnappy after the declared length is checked against a limit.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace loge::ingest {

// Decompresses a snappy block into *out. The declared (preamble) length is
// checked before anything is allocated: above max_out is PayloadTooLarge;
// longer than the block could possibly expand to, or a framed-format stream
// ("sNaPpY" stream identifier, which Loki does not accept either), or corrupt
// data is InvalidArgument. *out is unspecified on failure.
Status SnappyUncompress(std::string_view in, size_t max_out, std::string* out);

}  // namespace loge::ingest
