// Encoders of the shippers' formats for the body pool (body_pool.h): the
// same planned streams and lines as the Loki formats, as an OTLP
// ExportLogsServiceRequest (protobuf or JSON), an Elasticsearch bulk body,
// JSON lines, or octet-counted RFC 5424 syslog. The stream labels travel as
// resource attributes / document fields / syslog header fields, so a server
// started with kShipperLabelFields as its label fields stores the same
// streams as a Loki push would (syslog: app -> app_name, host -> hostname).
#pragma once

#include <string>
#include <vector>

#include "bench/body_pool.h"
#include "bench/line_gen.h"

namespace loge::bench {

// The label names of the generated streams, comma-separated, for
// --otlp-resource-labels, --es-stream-fields and _stream_fields.
inline constexpr const char* kShipperLabelFields = "app,env,host,job,level,region";

// One body before encoding: which streams, and their lines in order.
struct PlannedStream {
  size_t spec = 0;          // index into LineGenerator::streams()
  std::vector<Line> lines;  // in timestamp order
};

// Each fills b->body, b->ts_pos (kOtlpProto: the 8 bytes of a fixed64;
// the JSON formats: kTimestampLen digits; kSyslog: none, the receive time
// stamps it) and b->id_pos.
void EncodeOtlpProto(const std::vector<StreamSpec>& specs, const std::vector<PlannedStream>& plan, int64_t now_ns,
                     PushBody* b);
void EncodeOtlpJson(const std::vector<StreamSpec>& specs, const std::vector<PlannedStream>& plan, int64_t now_ns,
                    PushBody* b);
void EncodeEsBulk(const std::vector<StreamSpec>& specs, const std::vector<PlannedStream>& plan, int64_t now_ns,
                  PushBody* b);
void EncodeJsonLines(const std::vector<StreamSpec>& specs, const std::vector<PlannedStream>& plan, int64_t now_ns,
                     PushBody* b);
void EncodeSyslog(const std::vector<StreamSpec>& specs, const std::vector<PlannedStream>& plan, PushBody* b);

}  // namespace loge::bench
