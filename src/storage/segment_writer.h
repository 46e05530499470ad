// SegmentWriter: builds one SQLite database image in the segment schema
// (docs/format-segment.md) from streams of entries, and writes it to disk as
// a seekable-zstd file. Flush files and compacted segments share the format.
//
// Thread-safety: one writer per thread; WriteSegmentFile is reentrant.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "storage/catalog.h"
#include "storage/seekable_zstd.h"

struct sqlite3;

namespace loge::io {
class FileSystem;
}

namespace loge::storage {

inline constexpr int kSegmentFormatVersion = 1;

// What the writer learned about the file; the catalog keeps a copy.
struct SegmentInfo {
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint64_t rows = 0;
  uint64_t streams = 0;
  std::vector<std::string> label_keys;  // sorted, unique
  uint64_t bytes = 0;                   // compressed file size
  // With EnableFilters: the serialized FuseFilters over every line's whole
  // tokens and byte trigrams (terms.h); empty otherwise.
  std::string token_filter;
  std::string trigram_filter;
  uint64_t block_groups = 0;  // rows of block_filters
};

class SegmentWriter {
 public:
  SegmentWriter();
  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // Adds one stream; entries must be sorted by ts. A label set may be added
  // once only. Lines are cut into blocks of kBlockMaxLines / kBlockMaxBytes.
  Status AddStream(const Labels& labels, const std::vector<Entry>& entries);
  // The same with the entries given by pointer (sorted by ts), so a caller
  // can order entries it does not own without copying them.
  Status AddStream(const Labels& labels, const std::vector<const Entry*>& entries);

  // Makes the file carry content filters (segments do, flush files do not):
  // a token and a trigram filter over every line, stored in meta and returned
  // by Finish, and, when group_lines > 0, a filter of the rare trigrams of
  // each group of consecutive blocks holding at least group_lines lines (the
  // last group may hold fewer), in the block_filters table, with the file's
  // common trigrams in meta group_common_trigrams (docs/format-segment.md).
  // Call before the first AddStream.
  void EnableFilters(size_t group_lines);

  // Stores an extra key in the meta table (callers' bookkeeping, such as
  // which WAL records a flush file holds). Keys must not clash with the
  // writer's own: format_version, min_ts, max_ts, rows, streams, label_keys.
  void SetMeta(std::string key, std::string value) { extra_meta_.push_back({std::move(key), std::move(value), false}); }
  // The same for binary values (stored as a BLOB), e.g. serialized filters.
  void SetMetaBlob(std::string key, std::string value) { extra_meta_.push_back({std::move(key), std::move(value), true}); }

  // Finishes the database and returns its uncompressed image. The writer
  // is spent afterwards (its database is closed): further calls fail.
  Result<std::string> Finish(SegmentInfo* info);

 private:
  Status Init();
  // Adds the keys of lines [p, q) to the open group; closes it when full.
  Status AddFilterKeys(const Entry* const* p, const Entry* const* q, int64_t min_ts, int64_t max_ts,
                       int64_t block_id);
  Status CloseGroup();
  Status WriteGroups();
  sqlite3* db_ = nullptr;
  struct Stmts;
  std::unique_ptr<Stmts> stmts_;
  int64_t next_stream_id_ = 1;
  SegmentInfo info_;
  std::vector<std::string> keys_;
  struct Meta {
    std::string key, value;
    bool blob;
  };
  std::vector<Meta> extra_meta_;
  Status init_status_;

  // Filters (EnableFilters).
  bool filters_ = false;
  size_t group_lines_ = 0;
  std::vector<uint64_t> seg_tokens_, seg_trigrams_;      // whole file, deduped as they grow
  std::vector<uint64_t> group_trigrams_;                 // the open group
  struct PendingGroup {
    int64_t first, last, min_ts, max_ts;
    uint64_t n;
    std::vector<uint64_t> trigrams;  // sorted, unique
  };
  std::vector<PendingGroup> groups_;  // closed, written by Finish
  int64_t group_first_ = 0, group_last_ = 0;             // block ids; group_first_ == 0: no open group
  int64_t group_min_ts_ = 0, group_max_ts_ = 0;
  uint64_t group_rows_ = 0;
};

// The catalog row of a file just written (sealed_at = now, no filters).
CatalogEntry EntryFor(FileKind kind, std::string name, const SegmentInfo& info, uint64_t bytes);

// Compresses `image` with the seekable format at zstd `level` and publishes
// it at `path`, crash-safely (io::WriteFileAtomic):
//  1. write path + ".tmp" and fsync it;
//  2. rename it to path;
//  3. fsync the directory.
// After step 3 the file is durable under its final name. Returns the size of
// the compressed file.
Result<uint64_t> WriteSegmentFile(io::FileSystem* fs, const std::string& path, std::string_view image,
                                  const SeekableOptions& compression);

}  // namespace loge::storage
