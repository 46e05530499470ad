// OpenTelemetry logs over OTLP/HTTP (POST /otlp/v1/logs, /v1/logs): an
// ExportLogsServiceRequest as protobuf (application/x-protobuf) or as OTLP
// JSON (application/json), mapped to loge's model the way Loki maps it:
//
//   resource attributes in OtlpOptions::label_attributes -> stream labels
//       (dots and other non-label bytes -> '_': service.name -> service_name;
//       none present -> service_name="unknown_service")
//   the other resource attributes, the scope's name/version/attributes and
//       the record's attributes -> structured metadata (nested maps
//       flattened with '_', other non-string values as text)
//   body -> the line (a non-string body as JSON, bytes as base64)
//   time_unix_nano, else observed_time_unix_nano, else the receive time -> ts
//   severity -> metadata severity_text and severity_number as sent (the
//       server adds detected_level from them, ingest/discover.h)
//   trace_id, span_id -> metadata, lowercase hex; flags, event_name likewise
//
// A record that cannot be stored (a line over --max-line-size, a time past
// int64 nanoseconds) is rejected alone and counted, for the 200 answer's
// partial_success; a body that does not decode is InvalidArgument whole.
// docs/push-formats.md has the whole mapping.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "ingest/decode_json.h"

namespace loge::ingest {

// Loki's default_resource_attributes_as_index_labels.
std::vector<std::string> DefaultOtlpLabelAttributes();

struct OtlpOptions {
  // --otlp-resource-labels: resource attribute names (as sent, with dots)
  // that become stream labels. Default: DefaultOtlpLabelAttributes().
  std::vector<std::string> label_attributes = DefaultOtlpLabelAttributes();
};

// What the decoders could not store, for ExportLogsPartialSuccess.
struct OtlpRejects {
  int64_t records = 0;  // rejected_log_records
  std::string reason;   // the first rejection's reason ("" when none)
};

// Deepest AnyValue nesting accepted (arrays and maps inside each other).
inline constexpr int kMaxOtlpDepth = 32;

// Decodes a protobuf ExportLogsServiceRequest into *out (which may end up
// with no streams: an empty request is valid) and runs ValidatePayload on a
// non-empty result. now_ns stamps records that carry no time.
// InvalidArgument for malformed protobuf; *out is then unspecified.
Status DecodeOtlpLogsProto(std::string_view body, const OtlpOptions& opts, const Limits& limits, int64_t now_ns,
                           Payload* out, OtlpRejects* rejects);

// The same for OTLP JSON (lowerCamelCase keys as the spec says; the proto
// field names are accepted too; int64 values as strings or numbers; trace
// and span ids as hex).
Status DecodeOtlpLogsJson(std::string_view body, const OtlpOptions& opts, const Limits& limits, int64_t now_ns,
                          Payload* out, OtlpRejects* rejects);

}  // namespace loge::ingest
