// Decoding and validating push bodies (application/json; more formats in
// decode_*.h as they arrive). One decoder per wire format, one validation.
//
// Thread-safety: pure functions; simdjson parsers are thread-local inside.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/types.h"

namespace loge::ingest {

struct Limits {
  size_t max_line_bytes = 256 * 1024;  // --max-line-size: longest accepted log line
};

// Decodes a Loki-style JSON push body
//   {"streams":[{"stream":{"app":"web"},"values":[["<unix_ns>","line"], ...]}]}
// into *out, then runs ValidatePayload. A value may carry an optional third
// element, a JSON object of structured metadata (kept as its JSON text).
// Every failure is InvalidArgument with a reason naming the field, e.g.
//   streams[0].values[3][0]: timestamp "12x" is not a decimal int64 of nanoseconds
// (a line over the limit is InvalidArgument too). On failure *out is unspecified
// and must not be stored.
Status DecodeJsonPush(std::string_view body, const Limits& limits, Payload* out);

// Checks what every format shares: at least one stream; each stream has at
// least one label and one value; label names match [a-zA-Z_][a-zA-Z0-9_]*
// and are unique (labels are sorted in place); no line is over the limit.
// Errors name the stream index ("streams[2]: ...").
Status ValidatePayload(Payload* p, const Limits& limits);

}  // namespace loge::ingest
