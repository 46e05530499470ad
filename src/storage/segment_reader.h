// SegmentReader: reads a segment or flush file through the zstd VFS, in
// either format version (docs/format-segment.md): 2 (blocks + texts tables)
// and 1 (one blocks table, read only).
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
#include "storage/filters.h"
#include "storage/segment_writer.h"

struct sqlite3;
struct sqlite3_stmt;

namespace loge::storage {

class SegmentReader;

// A block row under the cursor. The header (stream, time bounds, n) costs
// nothing; the text is read on first use, so a block rejected by stream or
// time never has its lines read (format 2: a separate row, usually another
// frame). Views are valid until the callback returns.
class BlockCursor {
 public:
  int64_t stream() const;
  int64_t min_ts() const;
  int64_t max_ts() const;
  uint32_t n() const;
  // The bytes of the block's lines, separators not counted: format 2 from
  // the block's row alone (its text stays unread), format 1 from its text.
  uint64_t line_bytes() const;
  // The block's line text, lines joined by '\n': what a substring
  // pre-check (memmem) runs over before any row is decoded. Empty when the
  // text cannot be read (Rows then says why).
  std::string_view lines() const;

  // Decodes the block's rows into *rows (views valid until the callback
  // returns). Every reader decodes through here, so the column layout is
  // known in one place. Corruption when the columns disagree.
  Status Rows(std::vector<RowView>* rows) const;
  // Decodes only the rows' timestamps (n() of them, oldest first). Format 2
  // keeps them apart from the text, which stays unread (and undecompressed).
  Status Timestamps(std::vector<int64_t>* ts) const;
  bool HasMetadata() const;
  // The structured metadata of each row ("" for none); n() elements.
  Result<std::vector<std::string>> Metadata() const;
  // The whole block in format 2's encoding (a copy), for merges. A format-1
  // block is re-encoded.
  Result<Block> Encoded() const;

 private:
  friend class SegmentReader;
  BlockCursor(sqlite3_stmt* st, const SegmentReader* r) : st_(st), r_(r) {}
  Status LoadText() const;
  sqlite3_stmt* st_;
  const SegmentReader* r_;
  mutable bool loaded_ = false;
  mutable Status load_status_;
};

// One row of a format-1 file's block_filters: blocks [first_block,
// last_block] and the filter of their rare trigrams.
struct BlockGroup {
  int64_t first_block = 0;
  int64_t last_block = 0;
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint64_t n = 0;        // lines
  std::string trigrams;  // serialized FuseFilter
};

// A block's header: what a merge orders blocks by before reading them.
struct BlockHeader {
  int64_t id = 0;
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint32_t n = 0;
};

class SegmentReader {
 public:
  // NotFound if the file is missing; Corruption if it is not a segment or
  // its format version is newer than this loge. page_cache_kib > 0 bounds
  // SQLite's page cache of this connection (default: SQLite's 2 MiB), for
  // readers that keep many files open at once, such as a merge's.
  static Result<std::unique_ptr<SegmentReader>> Open(const std::string& path, int page_cache_kib = 0);
  ~SegmentReader();
  SegmentReader(const SegmentReader&) = delete;
  SegmentReader& operator=(const SegmentReader&) = delete;

  int format_version() const { return version_; }

  // min/max ts, rows, streams, label keys, line bytes from the meta table
  // (bytes = 0); format 1's whole-file filters; no group filters.
  Result<SegmentInfo> ReadInfo();

  // The text of meta key `key`; NotFound when absent.
  Result<std::string> ReadMeta(const std::string& key);

  // Calls fn(id, labels_json) for every stream, in id order.
  Status ForEachStream(const std::function<void(int64_t, std::string_view)>& fn);

  // Calls fn for every block with max_ts >= start and min_ts <= end, in
  // descending max_ts order, until fn returns false.
  Status ScanBlocksNewestFirst(int64_t start, int64_t end, const std::function<bool(const BlockCursor&)>& fn);

  // Calls fn for every block of one stream in ascending (max_ts, id) order
  // until fn returns false (merges read streams this way).
  Status ScanStreamOldestFirst(int64_t stream, const std::function<bool(const BlockCursor&)>& fn);

  // The headers of one stream's blocks, in ascending (min_ts, max_ts, id)
  // order, and one block by id in format 2's encoding (merges).
  Result<std::vector<BlockHeader>> StreamBlocks(int64_t stream);
  Result<Block> ReadBlock(int64_t id);

  // SQLite's `PRAGMA integrity_check` over the whole image (every page is
  // read): OK, or Corruption with SQLite's first findings.
  Status IntegrityCheck();

  // Format 2: the group and common filters; null when the file has none.
  Result<FileFiltersPtr> ReadFilters();

  // Format 1: the serialized filter of the trigrams too common to be in the
  // group filters; NotFound when the file has no group filters.
  Result<std::string> ReadCommonTrigrams() { return ReadMeta("group_common_trigrams"); }
  // Format 1: the groups of block_filters in block order.
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
  friend class BlockCursor;
  SegmentReader() = default;
  Status ScanStreamsNewestFirst(int64_t start, int64_t end, const std::function<bool(const BlockCursor&)>& fn);
  Status Scan(const std::string& where_order, const std::function<void(sqlite3_stmt*)>& bind,
              const std::function<bool(const BlockCursor&)>& fn);
  // The columns a block scan selects (format-dependent).
  const char* BlockColumns() const;
  sqlite3* db_ = nullptr;
  std::string path_;
  int version_ = 1;
  sqlite3_stmt* text_stmt_ = nullptr;  // format 2: SELECT lines, nl, meta FROM texts WHERE id = ?
  std::vector<int64_t> only_streams_;  // empty: every stream
};

}  // namespace loge::storage
