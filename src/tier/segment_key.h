// Object keys of rotated segments and node ids (docs/s3.md, "Rotation").
//
// A segment rotated by node N is stored under the store's prefix as
//   <N>/segment-<minTs>-<maxTs>-<id>.sqlite.zst
// where the file name is the local segment's own name (compactor.cc): the
// time bounds in the key let any node catalog the bucket from a listing
// alone, and the node id keeps the ids of several nodes sharing a bucket
// apart.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace loge::tier {

// What a segment key says about its object.
struct SegmentKeyInfo {
  std::string node_id;  // first path segment
  std::string name;     // "segment-<minTs>-<maxTs>-<id>.sqlite.zst"
  int64_t min_ts = 0;   // unix ns, inclusive
  int64_t max_ts = 0;
  int64_t id = 0;       // the writing node's segment id
};

// "<node_id>/<file_name>".
std::string SegmentKey(std::string_view node_id, std::string_view file_name);

// Parses a segment file name "segment-<minTs>-<maxTs>-<id>.sqlite.zst"
// (timestamps may be negative; min <= max; id >= 0). False otherwise.
bool ParseSegmentName(std::string_view name, int64_t* min_ts, int64_t* max_ts, int64_t* id);

// Parses a key of exactly two segments "<node_id>/<segment name>" with a
// valid node id. False for anything else (another naming, another tool's
// objects).
bool ParseSegmentKey(std::string_view key, SegmentKeyInfo* out);

// A node id is 1-64 characters of [A-Za-z0-9_-] (it becomes a key segment
// and must not need URL encoding). InvalidArgument names the flag.
Status ValidateNodeId(std::string_view id);

// A fresh random node id: 16 lowercase hex digits from 64 random bits.
std::string RandomNodeId();

}  // namespace loge::tier
