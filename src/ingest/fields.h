// What the shipper formats (OTLP, Elasticsearch bulk, JSON lines, syslog)
// share when they turn fields into labels and structured metadata: name
// normalization, grouping entries into streams by label set, a flat metadata
// object with unique keys, lenient log timestamps, and level names.
// Internal to ingest/ (the decoders' common vocabulary), not a facade.
//
// Thread-safety: pure functions; the classes are single-threaded values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace loge::ingest {

// The service_name of a stream none of whose label fields were present, as
// Loki names a service it could not discover. Every stream needs a label.
inline constexpr std::string_view kUnknownService = "unknown_service";

// A field or attribute name as a label or metadata name, as Loki does for
// OTLP attributes: every byte outside [a-zA-Z0-9_] becomes '_', and a
// leading digit gets a '_' in front ("service.name" -> "service_name",
// "k8s.pod.name" -> "k8s_pod_name", "1a" -> "_1a"). "" stays "".
std::string NormalizeName(std::string_view name);

// Groups entries into the payload's streams by label set.
class StreamGrouper {
 public:
  explicit StreamGrouper(Payload* out) : out_(out) {}
  StreamGrouper(const StreamGrouper&) = delete;
  StreamGrouper& operator=(const StreamGrouper&) = delete;

  // The stream of this label set, created on first use. The labels need
  // not be sorted; a name given twice keeps its first value (two attributes
  // may normalize to one name). Labels with an empty value are dropped, as
  // Loki does. The pointer is valid until the next call.
  Stream* For(Labels labels);
  // The same for a label set given as views (the decoders' hot path: the
  // strings are copied only when the set is new). Sorts *labels in place.
  Stream* For(std::vector<std::pair<std::string_view, std::string_view>>* labels);
  // Forgets every stream (after the payload was moved out and cleared).
  void Reset() { index_.clear(); }

 private:
  Payload* out_;
  std::unordered_map<std::string, size_t> index_;  // canonical label text -> stream index
  std::string key_;                                 // scratch
};

// A flat structured-metadata object: string keys to string values, keys
// unique (the first value given for a key wins), serialized in insertion
// order as the JSON text Entry::metadata holds. The text is written as
// pairs arrive; keys are normalized names, which JSON never escapes, so
// duplicates are found in the text itself.
class MetadataBuilder {
 public:
  // key must already be normalized. An empty key or value is ignored.
  void Add(std::string_view key, std::string_view value);
  bool Has(std::string_view key) const;
  size_t size() const { return keys_.size(); }
  void Clear() {
    json_.clear();
    keys_.clear();
    many_.clear();
  }
  // The JSON object text, or "" when empty (an entry without metadata).
  std::string Json() const { return json_.empty() ? std::string() : json_ + "}"; }

 private:
  std::string json_;                                 // "{"k":"v","k2":"v2" (no closing brace)
  std::vector<std::pair<uint32_t, uint32_t>> keys_;  // offset and length of each key in json_
  std::unordered_set<std::string> many_;             // the keys, once there are many (hostile input)
};

// Parses a log timestamp the way shippers send them, into unix ns:
//   RFC 3339 / ISO 8601: "2024-01-02T03:04:05Z", "…05.123456789+02:00",
//     "…05.123+0200" (Fluentd), "…05" (no zone: UTC), a ' ' instead of 'T',
//     "2024-01-02" (midnight UTC);
//   a number (JSON number or decimal string, fraction allowed) read by its
//     magnitude: below 1e10 seconds, below 1e13 milliseconds, below 1e16
//     microseconds, else nanoseconds (VictoriaLogs' rule).
// False for anything else or a value outside int64 nanoseconds.
bool ParseLogTime(std::string_view text, int64_t* ns);
bool NumberToLogTime(double v, int64_t* ns);

// "01ab…": lowercase hex of bytes.
std::string HexEncode(std::string_view bytes);
// Standard base64 with padding.
std::string Base64Encode(std::string_view bytes);

// Shortest decimal text that reads back as v, without an exponent
// ("1.5", "100", "0.001"); "NaN", "+Inf", "-Inf" for the non-finite.
std::string FormatDouble(double v);

}  // namespace loge::ingest
