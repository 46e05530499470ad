// MergeFiles: the mechanism of every merge (which files and when is the
// store's policy, store/merge_policy.h). Reads any number of files of
// either format and writes one format-2 file holding every row of them once,
// streams in label order, each stream's rows in time order.
//
// Blocks are copied, not re-encoded: the blocks of one stream are taken in
// time order, and consecutive ones that do not overlap in time are joined
// into blocks of up to kBlockMaxLines / kBlockMaxBytes by appending their
// encoded columns (AppendBlock). Only where blocks overlap in time (rows
// arrived out of order, or the same rows twice) are their rows decoded,
// sorted, deduplicated — an entry identical in timestamp, line and metadata
// to another of its stream is kept once — and encoded again. Filters are
// built over the joined text as the blocks are written (filters.h).
//
// Memory: one stream's block headers, the block being built and the one
// being read, the filter builder's pending keys; the output image is built in
// a scratch file (SegmentWriterOptions::scratch_path).
//
// Thread-safety: a pure function of its inputs; many merges may run at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "storage/segment_writer.h"

namespace loge::io {
class FileSystem;
}

namespace loge::storage {

// The rows of one stream a merge must leave out (a delete request: store/
// deletes.h). Only blocks overlapping one of `windows` are decoded and
// asked; the others are copied as they are.
struct StreamRowDrop {
  std::vector<std::pair<int64_t, int64_t>> windows;  // [start, end] in unix ns, inclusive
  std::function<bool(int64_t ts, std::string_view line)> drops;  // null: drop nothing
};

struct MergeOptions {
  std::string output_path;   // final name of the merged file
  std::string scratch_path;  // uncompressed image while it is built; removed at the end
  int level = 1;             // zstd level of the output
  size_t group_lines = 1024;  // filter groups (0: no filters)
  io::FileSystem* fs = nullptr;  // nullptr = io::DefaultFileSystem()
  std::vector<std::pair<std::string, std::string>> meta;  // extra meta keys of the output
  // Per input (index as in `inputs`; missing or null = unknown): the id keys
  // its writer extracted per block (SegmentInfo::block_id_keys). The
  // merge's filters take them instead of extracting them from the text.
  std::vector<BlockIdKeysPtr> input_id_keys;
  // Per stream (its labels JSON as stored): the rows to leave out; null =
  // every row is kept. A stream left with no row is not written, and when
  // no row is left at all no file is written (SegmentInfo::rows is 0).
  std::function<StreamRowDrop(std::string_view labels_json)> drop;
};

struct MergeStats {
  uint64_t rows_in = 0;        // rows read
  uint64_t rows_dropped = 0;   // exact duplicates dropped
  uint64_t blocks_in = 0;
  uint64_t blocks_decoded = 0;  // blocks whose rows were decoded (time overlap)
  uint64_t blocks_keys_reused = 0;  // input blocks whose id keys came with them
  uint64_t rows_deleted = 0;   // rows MergeOptions::drop left out
  uint64_t bytes_deleted = 0;  // bytes of their lines (the text alone, uncompressed)
};

// Merges `inputs` (local paths) into opts.output_path, written crash-safely
// (SegmentWriter::WriteFile). On failure nothing is left at output_path,
// nor when MergeOptions::drop leaves no row (then the result has 0 rows).
Result<SegmentInfo> MergeFiles(const std::vector<std::string>& inputs, const MergeOptions& opts,
                               MergeStats* stats = nullptr);

}  // namespace loge::storage
