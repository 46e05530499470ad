// SegmentWriterV1: the writer of segment format version 1, kept so tests can
// make old-format files and check that this loge still reads them
// (docs/format-segment.md, "Version 1"). Not used by the server.
//
// Thread-safety: one writer per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "storage/segment_writer.h"

struct sqlite3;

namespace loge::storage {

class SegmentWriterV1 {
 public:
  SegmentWriterV1();
  ~SegmentWriterV1();
  SegmentWriterV1(const SegmentWriterV1&) = delete;
  SegmentWriterV1& operator=(const SegmentWriterV1&) = delete;

  Status AddStream(const Labels& labels, const std::vector<Entry>& entries);
  Status AddStream(const Labels& labels, const std::vector<const Entry*>& entries);
  // Whole-file token and trigram filters, and rare-trigram group filters
  // of group_lines lines (0: none) in block_filters.
  void EnableFilters(size_t group_lines);
  void SetMeta(std::string key, std::string value) { extra_meta_.push_back({std::move(key), std::move(value), false}); }
  void SetMetaBlob(std::string key, std::string value) { extra_meta_.push_back({std::move(key), std::move(value), true}); }
  Result<std::string> Finish(SegmentInfo* info);
  uint64_t TEST_groups() const { return groups_written_; }

 private:
  Status Init();
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
  bool filters_ = false;
  size_t group_lines_ = 0;
  std::vector<uint64_t> seg_tokens_, seg_trigrams_;
  std::vector<uint64_t> group_trigrams_;
  struct PendingGroup {
    int64_t first, last, min_ts, max_ts;
    uint64_t n;
    std::vector<uint64_t> trigrams;
  };
  std::vector<PendingGroup> groups_;
  int64_t group_first_ = 0, group_last_ = 0;
  int64_t group_min_ts_ = 0, group_max_ts_ = 0;
  uint64_t group_rows_ = 0;
  uint64_t groups_written_ = 0;
};

// Compresses a v1 image with 64 KiB frames at zstd 1 and writes it to path
// (temp, fsync, rename, fsync dir). Returns the compressed size.
Result<uint64_t> WriteV1File(io::FileSystem* fs, const std::string& path, std::string_view image);

}  // namespace loge::storage
