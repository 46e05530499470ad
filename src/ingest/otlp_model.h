// The OTLP logs data model as both decoders (decode_otlp_proto.cc,
// decode_otlp_json.cc) read it, and OtlpMapper, the one place that turns it
// into streams, entries and metadata (decode_otlp.h lists the rules).
// Internal to ingest/.
//
// Strings are views into the request body (protobuf) or into the JSON
// parser's buffer: a model lives only while its source does.
//
// Thread-safety: single-threaded values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/decode_otlp.h"
#include "ingest/fields.h"

namespace loge::ingest {

// common.v1.AnyValue.
struct OtlpValue {
  enum class Kind : uint8_t { kNone, kString, kBool, kInt, kDouble, kBytes, kArray, kKvList };
  Kind kind = Kind::kNone;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string_view s;          // kString; kBytes: the bytes, or their base64 text when bytes_b64
  bool bytes_b64 = false;      // OTLP JSON carries bytes as base64 already
  std::vector<std::string_view> keys;  // kKvList: keys[k] names items[k]
  std::vector<OtlpValue> items;        // kArray, kKvList
};

using OtlpAttributes = std::vector<std::pair<std::string_view, OtlpValue>>;

// logs.v1.LogRecord. Reused across records: Clear() keeps capacity.
struct OtlpRecord {
  uint64_t time = 0;      // time_unix_nano; 0 = unset
  uint64_t observed = 0;  // observed_time_unix_nano; 0 = unset
  int64_t severity_number = 0;
  std::string_view severity_text;
  std::string_view event_name;
  OtlpValue body;
  OtlpAttributes attributes;
  uint32_t flags = 0;
  std::string trace_id;  // lowercase hex, "" when absent
  std::string span_id;   // lowercase hex, "" when absent
  void Clear();
};

// AnyValue.AsString(), as the OTel collector (and so Loki) defines it:
// strings as is, numbers and booleans as text, bytes as base64, arrays and
// maps as JSON.
std::string OtlpValueText(const OtlpValue& v);

// Builds the payload: BeginResource, then BeginScope, then Add per record.
class OtlpMapper {
 public:
  OtlpMapper(const OtlpOptions& opts, const Limits& limits, int64_t now_ns, Payload* out);
  OtlpMapper(const OtlpMapper&) = delete;
  OtlpMapper& operator=(const OtlpMapper&) = delete;

  void BeginResource(const OtlpAttributes& attributes);
  void BeginScope(std::string_view name, std::string_view version, const OtlpAttributes& attributes);
  // Stores the record in the current resource's stream, or counts it as
  // rejected (line over the limit, time past int64 nanoseconds).
  void Add(const OtlpRecord& r);
  // ValidatePayload on a non-empty payload; hands over the rejections.
  Status Finish(OtlpRejects* rejects);

 private:
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  void Reject(std::string reason);

  const OtlpOptions& opts_;
  const Limits& limits_;
  const int64_t now_ns_;
  Payload* out_;
  StreamGrouper grouper_;
  size_t stream_ = 0;       // index of the current resource's stream
  bool have_stream_ = false;
  Pairs resource_md_;       // the resource's attributes that are not labels
  Pairs scope_md_;          // scope_name, scope_version, scope attributes
  MetadataBuilder md_;      // scratch
  Pairs attrs_;             // scratch
  OtlpRejects rejects_;
};

}  // namespace loge::ingest
