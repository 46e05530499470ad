// SegmentReader: reads a segment or flush file through the zstd VFS.
//
// Thread-safety: one reader per thread (it owns one SQLite connection). Many
// readers may open the same file at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "storage/block.h"
#include "storage/segment_writer.h"

struct sqlite3;
struct sqlite3_stmt;

namespace loge::storage {

// A block row under the cursor. Column accessors read lazily, so a block
// rejected by stream or time never has its lines decompressed. Views are
// valid until the callback returns.
class BlockCursor {
 public:
  explicit BlockCursor(sqlite3_stmt* st) : st_(st) {}
  int64_t stream() const;
  int64_t min_ts() const;
  int64_t max_ts() const;
  uint32_t n() const;
  std::string_view ts() const;
  std::string_view lens() const;
  std::string_view meta() const;  // empty when NULL
  // The block's line text, lines joined by '\n': what a substring
  // pre-check (memmem) runs over before any row is decoded.
  std::string_view lines() const;

  // Decodes the block's rows into *rows (views valid until the callback
  // returns). Every reader decodes through here, so the column layout is
  // known in one place. Corruption when the columns disagree.
  Status Rows(std::vector<RowView>* rows) const;
  bool HasMetadata() const { return !meta().empty(); }
  // The structured metadata of each row ("" for none); n() elements.
  Result<std::vector<std::string>> Metadata() const;

 private:
  sqlite3_stmt* st_;
};

// One row of block_filters: blocks [first_block, last_block] and the filter
// of their rare trigrams (those not in the file's common-trigram filter).
struct BlockGroup {
  int64_t first_block = 0;
  int64_t last_block = 0;
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint64_t n = 0;        // lines
  std::string trigrams;  // serialized FuseFilter
};

class SegmentReader {
 public:
  // NotFound if the file is missing; Corruption if it is not a segment.
  static Result<std::unique_ptr<SegmentReader>> Open(const std::string& path);
  ~SegmentReader();
  SegmentReader(const SegmentReader&) = delete;
  SegmentReader& operator=(const SegmentReader&) = delete;

  // min/max ts, rows, streams, label keys from the meta table (bytes = 0).
  Result<SegmentInfo> ReadInfo();

  // The text of meta key `key`; NotFound when absent.
  Result<std::string> ReadMeta(const std::string& key);

  // Calls fn(id, labels_json) for every stream.
  Status ForEachStream(const std::function<void(int64_t, std::string_view)>& fn);

  // Calls fn for every block with max_ts >= start and min_ts <= end, in
  // descending max_ts order, until fn returns false.
  Status ScanBlocksNewestFirst(int64_t start, int64_t end, const std::function<bool(const BlockCursor&)>& fn);

  // The serialized filter of the trigrams too common to be in the group
  // filters; NotFound when the file has no group filters (flush files,
  // segments written with --compact-block-filter-lines 0).
  Result<std::string> ReadCommonTrigrams() { return ReadMeta("group_common_trigrams"); }
  // The groups of block_filters in block order.
  Result<std::vector<BlockGroup>> ReadBlockGroups();

  // Calls fn for every block with first <= id <= last, max_ts >= start and
  // min_ts <= end, in id order, until fn returns false.
  Status ScanBlockRange(int64_t first, int64_t last, int64_t start, int64_t end,
                        const std::function<bool(const BlockCursor&)>& fn);

  // Lets ScanBlocksNewestFirst skip every block of other streams without
  // reading it: with at most kMaxMergedStreams ids, each stream's blocks are
  // read through the blocks_by_stream index and merged by max_ts, so the
  // pages of other streams' blocks are never touched (what a remote file
  // pays for per frame). With more ids it scans by time as before and the
  // caller filters. Callers must still check the stream of each block.
  void RestrictToStreams(std::vector<int64_t> ids) { only_streams_ = std::move(ids); }
  static constexpr size_t kMaxMergedStreams = 32;

 private:
  SegmentReader() = default;
  Status ScanStreamsNewestFirst(int64_t start, int64_t end, const std::function<bool(const BlockCursor&)>& fn);
  sqlite3* db_ = nullptr;
  std::string path_;
  std::vector<int64_t> only_streams_;  // empty: every stream
};

}  // namespace loge::storage
