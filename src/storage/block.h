// Block: the lines of one stream in timestamp order, as stored in one row of
// the `blocks` table (docs/format-segment.md).
//
//   ts    BLOB  varint zigzag(first ts), then varint deltas (non-negative)
//   lens  BLOB  varint byte length of each line
//   lines TEXT  the lines joined by '\n' (lens makes embedded newlines safe,
//               the separator keeps `SELECT lines FROM blocks` readable)
//   meta  TEXT  NULL when no entry has structured metadata, else a JSON array
//               with one object (or null) per entry
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace loge::storage {

// Bounds on a block: small enough that a point query decodes little, large
// enough that per-row overhead (~8 bytes compressed) is paid once per block.
inline constexpr size_t kBlockMaxLines = 256;
inline constexpr size_t kBlockMaxBytes = 128 * 1024;

struct EncodedBlock {
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint32_t n = 0;
  std::string ts;
  std::string lens;
  std::string lines;
  std::string meta;  // empty = NULL
};

// Encodes the entries *begin .. *(end-1), which must be sorted by ts.
EncodedBlock EncodeBlock(const Entry* const* begin, const Entry* const* end);
// The same for a contiguous sorted array.
EncodedBlock EncodeBlock(const Entry* begin, const Entry* end);

// One decoded row; views point into the block's column buffers.
struct RowView {
  int64_t ts;
  std::string_view line;
};

// Decodes ts/lens/lines into rows (n of them). Corruption on a mismatch.
Status DecodeBlock(std::string_view ts, std::string_view lens, std::string_view lines, uint32_t n,
                   std::vector<RowView>* rows);

// The metadata of row i from a meta column ("" when none). Corruption if the
// column is not a JSON array of n elements.
Result<std::vector<std::string>> DecodeBlockMeta(std::string_view meta, uint32_t n);

}  // namespace loge::storage
