// application/msgpack push bodies: the JSON push document's shape in msgpack.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "core/status.h"
#include "core/types.h"
#include "ingest/decode_json.h"

namespace loge::ingest {

// Decodes
//   {"streams": [{"stream": {"app": "web"},
//                 "values": [[ts, line], [ts, line, {"trace_id": "abc"}], ...]}]}
// encoded as msgpack into *out, then runs ValidatePayload. Where JSON needs a
// decimal string, msgpack also takes the natural types:
//   ts    a string of unix nanoseconds, an integer of unix nanoseconds, or a
//         msgpack timestamp (ext type -1)
//   line  a string or bin
//   third element: a map of string to string (structured metadata) or nil.
// Unknown keys are skipped. Every failure is InvalidArgument with the JSON
// decoder's vocabulary ("streams[0].values[3][0]: …"); nesting deeper than
// kMaxMsgpackDepth, trailing bytes and truncation are failures too. On failure
// *out is unspecified and must not be stored.
Status DecodeMsgpackPush(std::string_view body, const Limits& limits, Payload* out);

// Deepest nesting accepted anywhere in the document (the push shape needs 6).
inline constexpr size_t kMaxMsgpackDepth = 32;

}  // namespace loge::ingest
