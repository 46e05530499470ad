// Decoding and validating push bodies (application/json; more formats in
// decode_*.h as they arrive). One decoder per wire format, one validation.
//
// Thread-safety: pure functions; simdjson parsers are thread-local inside.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/types.h"

namespace loge::ingest {

// Loki's validation limits (its limits_config names in brackets), checked by
// ValidatePayload for every push format on what the client sent: labels loge
// adds afterwards (service_name discovery) never count.
struct Limits {
  size_t max_line_bytes = 256 * 1024;  // --max-line-size: longest accepted log line [max_line_size]
  size_t max_label_name_bytes = 1024;   // --max-label-name-length [max_label_name_length]
  size_t max_label_value_bytes = 2048;  // --max-label-value-length [max_label_value_length]
  size_t max_labels_per_stream = 15;    // --max-label-names-per-series [max_label_names_per_series]
};

// Process-wide ingest counters since start (GET /metrics, /api/v1/stats).
// Relaxed atomics: any thread may bump or read them.
struct IngestCounters {
  // Pushes in which invalid UTF-8 (in a line, a label value or a JSON body)
  // was replaced by U+FFFD (docs/push-formats.md, "Invalid UTF-8").
  std::atomic<uint64_t> invalid_utf8_pushes{0};
  // Pushes refused (400) by one of the label limits above.
  std::atomic<uint64_t> label_name_too_long{0};
  std::atomic<uint64_t> label_value_too_long{0};
  std::atomic<uint64_t> too_many_labels{0};
};
IngestCounters& Counters();

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
// and are unique (labels are sorted in place); no line, label name or value
// is over its limit, no stream has more labels than its limit. Errors name
// the stream index ("streams[2]: ...") and, for a label limit, the flag and
// the stream's labels. Invalid UTF-8 in a line or label value is replaced
// by U+FFFD in place (counted), never refused: one rule for every format.
// A decoder whose body JsonScratch::Pad already repaired (simdjson then
// refuses a bad \u escape, so its strings are valid) passes kKnownValid and
// the lines are not scanned a second time.
enum class Utf8 { kRepair, kKnownValid };
Status ValidatePayload(Payload* p, const Limits& limits, Utf8 utf8 = Utf8::kRepair);

}  // namespace loge::ingest
