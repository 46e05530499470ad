// The one scanner of stored rows. Every read path that walks files — log
// queries (top k), metric queries (per-step aggregation), label values and
// volume — goes through Scan(), so pruning, block selection, remote-file
// skipping and partial results cannot drift between them.
//
//   plan   PlanFiles: catalog pruning (time, label keys, token/trigram
//          filters), newest max_ts first; remote files set aside for a
//          search plan.
//   scan   Scan: workers take files in plan order; per file the matching
//          streams (RestrictToStreams), group-filter candidate blocks, the
//          per-block substring pre-check, then the consumer decides per
//          block whether it needs the rows decoded (RowConsumer::OnBlock).
//          Rows reach the consumer already filtered by the window and the
//          query's line and entry filters.
//   merge  each worker owns a consumer (made by the factory); the caller
//          merges them once the scan is over.
//
// Threads: Scan() starts at most `concurrency` threads and joins them before
// it returns; a consumer is used by one thread only.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "query/engine.h"

namespace loge::storage {
class BlockCursor;
}

namespace loge::query {

// A stream of a file (or of the head) whose labels match the query.
struct ScanStream {
  std::string json;  // labels as stored ({"app":"web"}, keys sorted)
  Labels labels;     // the same, parsed
  // Its retention (Query::StreamFloor): rows older are never returned.
  int64_t floor = std::numeric_limits<int64_t>::min();
  // The pending delete requests that match it (Query::DeletedFor): their
  // rows are never returned, and a block they overlap is read row by row.
  StreamTombstones deleted{};
};

// A row that passed the window and the query's line and entry filters.
struct ScanRow {
  int64_t ts = 0;
  std::string_view line;
  std::string_view metadata;  // JSON object or empty
};

// What a consumer sees of a block before its rows are decoded.
struct BlockHeader {
  const ScanStream* stream = nullptr;
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint32_t n = 0;
  const storage::BlockCursor* cursor = nullptr;  // null for head rows
  // True when n counts distinct entries. False for a format-1 block, which
  // may repeat an entry pushed twice (that counts once): count its rows.
  bool distinct = true;
  // Bytes of the block's lines, separators not counted, without decoding
  // any row (format 2: from the block's row, its text unread).
  uint64_t LineBytes() const;
};

enum class BlockUse {
  kRows,    // decode the block and call OnRows with the rows that pass
  kHeader,  // the header was enough (counted from n): skip the rows
  // Each row's time is enough (a count without filters): OnTimestamps with
  // those in the window, the text left unread. Only a query without line or
  // entry filters may ask; format-1 files (whose blocks may repeat an entry
  // pushed twice, which counts once) get kRows instead.
  kTimestamps,
};

// Receives the rows of one worker's share of the files. Not thread-safe.
class RowConsumer {
 public:
  virtual ~RowConsumer() = default;
  // The oldest timestamp still wanted (a top k's k-th row); files and blocks
  // wholly older are skipped, and the newest-first scan of a file stops at
  // the first such block. Min int64 = every row is wanted.
  virtual int64_t Floor() const { return std::numeric_limits<int64_t>::min(); }
  // Once per opened file, with its matching streams (by stream id). False:
  // the file is done without reading any block (e.g. label values of a file
  // wholly inside the window).
  virtual bool OnFile(const storage::FileHandle& /*f*/, const std::unordered_map<int64_t, ScanStream>& /*streams*/) {
    return true;
  }
  // Per block of a matching stream that overlaps the window and passes the
  // substring pre-check.
  virtual BlockUse OnBlock(const BlockHeader& /*b*/) { return BlockUse::kRows; }
  // False when the rows of this stream need no structured metadata (then
  // ScanRow::metadata is empty and the block's metadata is not decoded).
  // Queries with entry filters always get it.
  virtual bool WantsMetadata(const ScanStream& /*stream*/) { return true; }
  // The rows of a kRows block that pass, oldest first. A non-OK status ends
  // the scan of the file with that error.
  virtual Status OnRows(const ScanStream& stream, const std::vector<ScanRow>& rows) = 0;
  // The times of a kTimestamps block's rows in the window, oldest first.
  // Only consumers that answer kTimestamps need to implement it.
  virtual Status OnTimestamps(const ScanStream& /*stream*/, const std::vector<int64_t>& /*ts*/) {
    LOGE_ASSERT(false, "BUG: a consumer asked for timestamps without taking them");
    return Status::OK();
  }
};

using ConsumerFactory = std::function<std::unique_ptr<RowConsumer>()>;

// The files of a query after catalog pruning: local (or all) files to scan,
// newest max_ts first, and remote ones set aside when asked.
struct FilePlan {
  std::vector<const storage::FileHandle*> scan;
  std::vector<FileRef> remote;  // set aside (Engine::Plan); newest max_ts first
};

// Prunes `files` by the catalog; fills the pruning counters of *stats.
// keep_remote_apart: remote files go to plan.remote instead of plan.scan.
FilePlan PlanFiles(const std::vector<FileRef>& files, const Query& q, bool keep_remote_apart, QueryStats* stats);

struct ScanOptions {
  int concurrency = 8;  // files scanned at once
  // Scan the newest file alone before the others: it usually fills a top k,
  // whose k-th row then lets older files be skipped unopened.
  bool newest_alone_first = true;
  // The floor known before the scan (the head's k-th row); min int64 = none.
  int64_t initial_floor = std::numeric_limits<int64_t>::min();
  // Told about a local file that turned out damaged (DataSource::ReportDamaged);
  // null: nobody (the file is still skipped with a warning).
  DataSource* source = nullptr;
};

struct ScanResult {
  std::vector<std::unique_ptr<RowConsumer>> consumers;  // one per worker that ran
  QueryStats stats;                                     // scan counters only
  std::vector<std::string> warnings;                    // files skipped (remote or damaged), sorted
};

// Scans plan.scan. IOError if a local file cannot be read. A local file
// whose bytes are damaged (Corruption) is skipped with a warning and
// reported to opts.source, which quarantines it: the rest still answers. A
// remote file failing with Unavailable, IOError or NotFound is skipped with
// a warning (after one Unavailable the remaining remote files are skipped at
// once, so an outage costs at most one timeout per worker).
Result<ScanResult> Scan(const FilePlan& plan, const Query& q, const ScanOptions& opts, const ConsumerFactory& make);

// Feeds head rows (hits from DataSource::Snapshot, already filtered by the
// query) to a consumer, grouped by stream.
Status FeedHead(std::vector<Hit> hits, RowConsumer* consumer);

}  // namespace loge::query
