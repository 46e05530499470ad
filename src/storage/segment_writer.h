// SegmentWriter: builds one file of the segment format, version 2
// (docs/format-segment.md), and writes it crash-safely as seekable zstd.
// Flush files and merged segments share the format.
//
// Layout, chosen so a fast zstd level compresses well and a reader touches
// little: the line text of every block goes into the `texts` table first, in
// block order, so it forms one contiguous run of pages (overflow chains) in
// 1 MiB frames with nothing interleaved; the small tables — streams, blocks
// (timestamps included), groups of filters, meta, indexes — are written last
// and form the file's tail, in smaller frames, so a query's index reads
// touch a few small frames and never the text.
//
// The image is built in memory (flush files) or, for merges, in an
// uncompressed scratch database on disk that Finish streams through the
// compressor and deletes, so a writer's memory does not grow with the file.
//
// Thread-safety: one writer per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "storage/block.h"
#include "storage/catalog.h"
#include "storage/filters.h"
#include "storage/seekable_zstd.h"

struct sqlite3;

namespace loge::io {
class FileSystem;
}

namespace loge::storage {

// The version this loge writes; readers accept every version up to it.
// 3: the content filters are in a filter frame after the data frames
// (filter_frame.h); 2: in the image's `groups` and `summary` tables and
// meta `common_trigrams` (still written by Finish and by filter_frame =
// false, for tools and tests).
inline constexpr int kSegmentFormatVersion = 3;

// What the writer learned about the file; the catalog keeps a copy.
struct SegmentInfo {
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint64_t rows = 0;
  uint64_t streams = 0;
  uint64_t line_bytes = 0;               // bytes of line text
  std::vector<std::string> label_keys;  // sorted, unique
  uint64_t bytes = 0;                   // compressed file size
  int format_version = kSegmentFormatVersion;
  // Format 1 only (read from old files): whole-file token and trigram filters.
  std::string token_filter;
  std::string trigram_filter;
  // Format 2 and 3 with filters: the group and common filters (null otherwise).
  FileFiltersPtr filters;
  // With keep_block_id_keys: every block's id keys (in memory only).
  BlockIdKeysPtr block_id_keys;
};

struct SegmentWriterOptions {
  // "" builds the image in memory; otherwise an uncompressed database is
  // built at this path (which must not exist) and removed by WriteFile.
  std::string scratch_path;
  // > 0: content filters with groups of about this many lines (filters.h);
  // 0: none.
  size_t group_lines = 0;
  // With group_lines > 0: whether the groups hold trigram keys besides id
  // keys (filters.h, FilterBuilder).
  bool trigram_filters = true;
  // With group_lines > 0: keep each block's id keys in SegmentInfo (flush
  // files: their merge reuses them instead of extracting them again).
  bool keep_block_id_keys = false;
  // Decompressed bytes per frame of the text run, and of the tail (the first
  // frame, which SQLite reads on every open, is kHeadFrameBytes).
  size_t text_frame_bytes = 1 << 20;
  size_t tail_frame_bytes = 256 << 10;
  // WriteFile: the filters in a filter frame (format 3). False writes them
  // into the image (format 2), as Finish always does: an image alone has
  // no frame to put them in.
  bool filter_frame = true;
};

// 64 KiB: the database header and the tables' root pages, read at every
// open, in a frame of their own so an open decompresses (or fetches) little.
inline constexpr size_t kHeadFrameBytes = 64 << 10;

struct SerializedImage;  // segment_writer.cc

class SegmentWriter {
 public:
  explicit SegmentWriter(SegmentWriterOptions opts = {});
  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // Adds one stream whose entries are sorted by ts, cut into blocks of
  // kBlockMaxLines / kBlockMaxBytes. An entry identical in timestamp, line
  // and metadata to another is kept once (as Loki does). A label set may be
  // added once only.
  Status AddStream(const Labels& labels, const std::vector<Entry>& entries);
  // The same with entries given by pointer (sorted by ts).
  Status AddStream(const Labels& labels, const std::vector<const Entry*>& entries);

  // Merges add encoded blocks: BeginStream, then that stream's blocks in
  // time order (AddBlock writes each as given), then the next stream.
  Status BeginStream(std::string labels_json, const std::vector<std::string>& label_keys);
  Status AddBlock(const Block& b);
  // Label names the file uses besides those given to BeginStream (merges
  // pass their inputs' label keys here once).
  void AddLabelKeys(const std::vector<std::string>& keys) { keys_.insert(keys_.end(), keys.begin(), keys.end()); }

  // An extra meta key (callers' bookkeeping, such as which WAL records a
  // flush file holds). Must not clash with the writer's own keys.
  void SetMeta(std::string key, std::string value) { extra_meta_.push_back({std::move(key), std::move(value), false}); }
  void SetMetaBlob(std::string key, std::string value) { extra_meta_.push_back({std::move(key), std::move(value), true}); }

  // In-memory writers only: finishes and returns the uncompressed image
  // (tests; tools), format 2. The writer is spent afterwards.
  Result<std::string> Finish(SegmentInfo* info);

  // Finishes and publishes the file at `path`, crash-safely:
  //  1. compress the image frame by frame into path + ".tmp";
  //  2. fsync it;
  //  3. rename it to path;
  //  4. fsync the directory.
  // After step 4 the file is durable under its final name; info->bytes is
  // its size. The scratch database (if any) is removed either way.
  Status WriteFile(io::FileSystem* fs, const std::string& path, int level, SegmentInfo* info);

  // Bytes the writer holds in memory for what it has not written yet
  // (block headers, pending filter keys); the image itself when in memory.
  size_t MemoryBytes() const;

 private:
  Status Init();
  Status WriteTail();  // streams, blocks, groups, meta, indexes; then commit
  bool frame_ = false;  // WriteTail: filters go to a filter frame (format 3)
  Status Serialize(SerializedImage* out);  // in-memory writers: WriteTail, then the image
  Status WriteText(const Block& b);
  struct Stmts;
  struct PendingBlock {
    int64_t stream, min_ts, max_ts;
    uint32_t n;
    uint64_t bytes;
    std::string ts;
  };
  struct Meta {
    std::string key, value;
    bool blob;
  };
  const SegmentWriterOptions opts_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Stmts> stmts_;
  Status init_status_;
  bool finished_ = false;
  int64_t next_block_id_ = 1;
  std::vector<std::string> stream_json_;  // index = stream id - 1
  std::vector<PendingBlock> blocks_;
  size_t pending_ts_bytes_ = 0;
  std::vector<std::string> keys_;
  std::vector<Meta> extra_meta_;
  std::unique_ptr<FilterBuilder> filters_;
  SegmentInfo info_;
  int64_t text_end_page_ = 0;  // pages [1, text_end_page_] hold the header, roots and texts
};

// `sorted` (by ts) without exact duplicates: entries equal in ts, line and
// metadata are kept once; rows at one instant come out ordered by line.
std::vector<const Entry*> DropDuplicates(const std::vector<const Entry*>& sorted);

// The catalog row of a file just written (sealed_at = now).
CatalogEntry EntryFor(FileKind kind, std::string name, const SegmentInfo& info, uint64_t bytes);

}  // namespace loge::storage
