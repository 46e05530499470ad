// Block: the lines of one stream in timestamp order (docs/format-segment.md).
//
// Format 2 (Block): the `blocks` row holds ts, the `texts` row of the same id
// the rest:
//   ts    BLOB  varint zigzag(first ts), then varint deltas (non-negative)
//   lines TEXT  the lines joined by '\n'
//   nl    BLOB  NULL when no line contains '\n'; else, for each line that
//               does, varint (its index - the previous such index) and
//               varint (its count of '\n'), so the joined text splits back
//               into lines unambiguously
//   meta  TEXT  NULL when no entry has structured metadata, else a JSON array
//               with one object (or null) per entry
// Format 1 (EncodedBlock, read only): one `blocks` row with ts, lens (varint
// byte length of each line), meta and lines.
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

// One decoded row; views point into the block's column buffers.
struct RowView {
  int64_t ts;
  std::string_view line;
};

struct EncodedBlock {
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint32_t n = 0;
  std::string ts;
  std::string lens;
  std::string lines;
  std::string meta;  // empty = NULL
};

// A format-2 block.
struct Block {
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint32_t n = 0;
  uint64_t bytes = 0;  // line bytes, separators not counted
  std::string ts;
  std::string lines;
  std::string nl;    // empty = NULL
  std::string meta;  // empty = NULL
  // With id_keys_known: a superset of the id keys of `lines` (keys.h,
  // AddIdKeys), in any order, repeats allowed. A merge carries the keys its
  // flush-file inputs were written with, so it does not extract them again;
  // joining blocks joins their keys (no token spans a '\n'), splitting one
  // gives both parts all of them (a superset is sound: it can only let a
  // group be read that need not be).
  std::vector<uint64_t> id_keys;
  bool id_keys_known = false;
};

// Encodes the entries *begin .. *(end-1), which must be sorted by ts.
Block EncodeBlock2(const Entry* const* begin, const Entry* const* end);

// Appends src's rows after dst's, without decoding lines: the texts are
// joined, src's first timestamp becomes a delta, nl and meta are re-based.
// Precondition: dst is empty or src.min_ts >= dst.max_ts. Id keys are kept
// when both sides know theirs.
void AppendBlock(Block* dst, const Block& src);

// Moves the first rows of src into the returned block: as many as fit in
// max_lines rows and max_bytes bytes of text (at least one row). The rest
// stays in src. Lines are only scanned for their boundaries, unless the block
// has nl or meta columns (then both parts are decoded and encoded again).
// Known id keys go with both parts.
Block TakeFront(Block* src, uint32_t max_lines, size_t max_bytes);

// The entries of a format-2 block (a copy), for the rare paths that need
// rows: merging blocks that overlap in time, splitting a block with meta.
Result<std::vector<Entry>> BlockEntries(const Block& b);

// Decodes a format-2 block's columns into rows (n of them). Corruption on
// any mismatch.
Status DecodeBlock2(std::string_view ts, std::string_view lines, std::string_view nl, uint32_t n,
                    std::vector<RowView>* rows);

// Decodes only the ts column (both formats encode it alike) into n
// timestamps, for readers that need no line. Corruption on a mismatch.
Status DecodeTimestamps(std::string_view ts, uint32_t n, std::vector<int64_t>* out);

// Encodes the entries *begin .. *(end-1), which must be sorted by ts (format 1;
// tests write old files with it).
EncodedBlock EncodeBlock(const Entry* const* begin, const Entry* const* end);
// The same for a contiguous sorted array.
EncodedBlock EncodeBlock(const Entry* begin, const Entry* end);

// Decodes ts/lens/lines into rows (n of them). Corruption on a mismatch.
Status DecodeBlock(std::string_view ts, std::string_view lens, std::string_view lines, uint32_t n,
                   std::vector<RowView>* rows);

// The metadata of row i from a meta column ("" when none). Corruption if the
// column is not a JSON array of n elements.
Result<std::vector<std::string>> DecodeBlockMeta(std::string_view meta, uint32_t n);

}  // namespace loge::storage
