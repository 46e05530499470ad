// The values that flow from push to query: labels, entries, streams, payloads.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace loge {

// A label set, sorted by name, names unique. Build it with SortLabels().
using Labels = std::vector<std::pair<std::string, std::string>>;

// Sorts by name. Returns InvalidArgument naming a duplicated label name.
Status SortLabels(Labels* labels);

// True for Prometheus/Loki label names: [a-zA-Z_][a-zA-Z0-9_]*.
bool IsValidLabelName(std::string_view name);

// {"app":"web","env":"prod"}: keys sorted (the input must be sorted), JSON-escaped.
std::string LabelsToJson(const Labels& labels);

// 64-bit fingerprint of a sorted label set; equal sets give equal values.
uint64_t Fingerprint(const Labels& labels);

struct Entry {
  int64_t ts = 0;        // unix nanoseconds
  std::string line;      // the log line, arbitrary bytes
  std::string metadata;  // structured metadata as a JSON object, or empty
};

struct Stream {
  Labels labels;  // sorted
  std::vector<Entry> entries;
  // Memory the stream holds: heap blocks of lines, metadata and labels
  // (with malloc overhead) plus the Entry structs. The head's byte budget
  // counts exactly this.
  size_t Bytes() const;
};

// One decoded push request.
struct Payload {
  std::vector<Stream> streams;
  size_t Lines() const;
  size_t Bytes() const;  // sum of Stream::Bytes()
};

// Binary encoding of a Payload for WAL records (docs/format-wal.md):
//   varint nstreams, per stream: varint nlabels, (str name, str value)*,
//   varint nentries, per entry: zigzag-varint ts delta from the previous
//   entry of the stream, str line, str metadata; str = varint len + bytes.
void EncodePayload(const Payload& p, std::string* out);
Result<Payload> DecodePayload(std::string_view in);

// Varint helpers shared by the WAL codec and the block format.
void PutVarint64(std::string* out, uint64_t v);
// Reads a varint at *pos; false if truncated or longer than 10 bytes.
bool GetVarint64(std::string_view in, size_t* pos, uint64_t* v);
inline uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }
// Fixed 32-bit little-endian fields (the seekable zstd container, the filter frame).
inline void AppendLE32(std::string* out, uint32_t v) {
  const char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 24)};
  out->append(b, 4);
}
inline uint32_t LoadLE32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | uint32_t{u[1]} << 8 | uint32_t{u[2]} << 16 | uint32_t{u[3]} << 24;
}

}  // namespace loge
