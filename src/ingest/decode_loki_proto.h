// Loki's protobuf push body (application/x-protobuf, application/protobuf):
// a raw snappy block holding a logproto.PushRequest (loki_push.proto).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/status.h"
#include "core/types.h"
#include "ingest/decode_json.h"

namespace loge::ingest {

// Loki refuses a stream labels string this long or longer (1<<24 - 1 bytes)
// as "request body too large"; so do we (PayloadTooLarge).
inline constexpr size_t kMaxLabelsStringBytes = (1u << 24) - 1;

// Decodes a snappy-compressed PushRequest into *out and runs ValidatePayload.
// max_decoded bounds the uncompressed size (PayloadTooLarge beyond, checked
// before allocating). Malformed snappy, protobuf or labels are
// InvalidArgument naming the stream ("streams[2]: couldn't parse labels: …").
// On failure *out is unspecified and must not be stored.
Status DecodeLokiProtoPush(std::string_view body, const Limits& limits, size_t max_decoded, Payload* out);

// The same for an uncompressed PushRequest (the snappy step already done).
Status DecodePushRequest(std::string_view protobuf, const Limits& limits, Payload* out);

// Parses a stream's labels string, `{app="web", env="prod"}`, with the LogQL
// selector lexer: only `=` pairs, values in double quotes (Go escapes) or
// backticks, a trailing comma allowed. Pairs with an empty value are dropped,
// as Loki does. The result is not sorted. InvalidArgument on anything else.
Status ParseLokiLabels(std::string_view text, Labels* out);

}  // namespace loge::ingest
