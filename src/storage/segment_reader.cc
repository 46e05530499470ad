#include "storage/segment_reader.h"

#include <simdjson.h>
#include <sqlite3.h>

#include <algorithm>
#include <memory>

#include "storage/sqlite_util.h"
#include "storage/zstd_vfs.h"

namespace loge::storage {

namespace {

// A statement that stopped with an error: the VFS's cause when a read
// failed (kUnavailable for an unreachable store), else bad bytes.
Status StepError(const std::string& what, sqlite3* db) {
  if (Status cause = TakeVfsReadError(); !cause.ok()) return cause.WithContext(what);
  return Status::Corruption(what + ": " + sqlite3_errmsg(db));
}

}  // namespace

int64_t BlockCursor::stream() const { return sqlite3_column_int64(st_, 0); }
int64_t BlockCursor::min_ts() const { return sqlite3_column_int64(st_, 1); }
int64_t BlockCursor::max_ts() const { return sqlite3_column_int64(st_, 2); }
uint32_t BlockCursor::n() const { return static_cast<uint32_t>(sqlite3_column_int64(st_, 3)); }
std::string_view BlockCursor::ts() const { return ColumnView(st_, 4); }
std::string_view BlockCursor::lens() const { return ColumnView(st_, 5); }
std::string_view BlockCursor::meta() const { return ColumnView(st_, 6); }
std::string_view BlockCursor::lines() const { return ColumnView(st_, 7); }

Status BlockCursor::Rows(std::vector<RowView>* rows) const { return DecodeBlock(ts(), lens(), lines(), n(), rows); }

Result<std::vector<std::string>> BlockCursor::Metadata() const { return DecodeBlockMeta(meta(), n()); }

Result<std::unique_ptr<SegmentReader>> SegmentReader::Open(const std::string& path) {
  LOGE_RETURN_IF_ERROR(RegisterZstdVfs());
  std::unique_ptr<SegmentReader> r(new SegmentReader());
  r->path_ = IsRemoteUrl(path) ? RemoteCacheKey(path) : path;  // messages never show a signature
  LOGE_RETURN_IF_ERROR(OpenCompressedDb(path, &r->db_));
  return r;
}

SegmentReader::~SegmentReader() {
  if (db_) sqlite3_close(db_);
}

Result<SegmentInfo> SegmentReader::ReadInfo() {
  Stmt st(db_, "SELECT key, value FROM meta");
  if (!st.ok()) return Status::Corruption(path_ + ": no meta table: " + sqlite3_errmsg(db_));
  SegmentInfo info;
  bool has_version = false;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    std::string_view key = ColumnView(st.get(), 0);
    if (key == "format_version") {
      has_version = true;
      if (sqlite3_column_int64(st.get(), 1) > kSegmentFormatVersion) {
        return Status::Corruption(path_ + ": segment format version " +
                                  std::to_string(sqlite3_column_int64(st.get(), 1)) + " is newer than this loge");
      }
    } else if (key == "min_ts") {
      info.min_ts = sqlite3_column_int64(st.get(), 1);
    } else if (key == "max_ts") {
      info.max_ts = sqlite3_column_int64(st.get(), 1);
    } else if (key == "rows") {
      info.rows = sqlite3_column_int64(st.get(), 1);
    } else if (key == "streams") {
      info.streams = sqlite3_column_int64(st.get(), 1);
    } else if (key == "label_keys") {
      simdjson::dom::parser parser;
      simdjson::padded_string js(ColumnView(st.get(), 1));
      simdjson::dom::array arr;
      if (parser.parse(js).get_array().get(arr) != simdjson::SUCCESS) {
        return Status::Corruption(path_ + ": meta label_keys is not a JSON array");
      }
      for (auto el : arr) {
        std::string_view s;
        if (el.get_string().get(s) == simdjson::SUCCESS) info.label_keys.emplace_back(s);
      }
    }
  }
  if (rc != SQLITE_DONE) return StepError(path_ + ": reading meta", db_);
  if (!has_version) return Status::Corruption(path_ + ": meta has no format_version");
  return info;
}

Result<std::string> SegmentReader::ReadMeta(const std::string& key) {
  Stmt st(db_, "SELECT value FROM meta WHERE key = ?1");
  if (!st.ok()) return Status::Corruption(path_ + ": no meta table: " + sqlite3_errmsg(db_));
  sqlite3_bind_text(st.get(), 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  int rc = sqlite3_step(st.get());
  if (rc == SQLITE_ROW) return std::string(ColumnView(st.get(), 0));
  if (rc == SQLITE_DONE) return Status::NotFound(path_ + ": meta has no " + key);
  return StepError(path_ + ": reading meta", db_);
}

Status SegmentReader::ForEachStream(const std::function<void(int64_t, std::string_view)>& fn) {
  Stmt st(db_, "SELECT id, labels FROM streams");
  if (!st.ok()) return Status::Corruption(path_ + ": no streams table: " + sqlite3_errmsg(db_));
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    fn(sqlite3_column_int64(st.get(), 0), ColumnView(st.get(), 1));
  }
  if (rc != SQLITE_DONE) return StepError(path_ + ": reading streams", db_);
  return Status::OK();
}

Status SegmentReader::ScanBlocksNewestFirst(int64_t start, int64_t end,
                                            const std::function<bool(const BlockCursor&)>& fn) {
  if (!only_streams_.empty() && only_streams_.size() <= kMaxMergedStreams) {
    return ScanStreamsNewestFirst(start, end, fn);
  }
  Stmt st(db_,
          "SELECT stream, min_ts, max_ts, n, ts, lens, meta, lines FROM blocks "
          "WHERE max_ts >= ?1 AND min_ts <= ?2 ORDER BY max_ts DESC");
  if (!st.ok()) return Status::Corruption(path_ + ": no blocks table: " + sqlite3_errmsg(db_));
  sqlite3_bind_int64(st.get(), 1, start);
  sqlite3_bind_int64(st.get(), 2, end);
  BlockCursor cur(st.get());
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    if (!fn(cur)) return Status::OK();
  }
  if (rc != SQLITE_DONE) return StepError(path_ + ": reading blocks", db_);
  return Status::OK();
}

// One statement per stream (blocks_by_stream gives each in max_ts order), and
// a heap of their current rows, newest first.
Status SegmentReader::ScanStreamsNewestFirst(int64_t start, int64_t end,
                                             const std::function<bool(const BlockCursor&)>& fn) {
  std::vector<std::unique_ptr<Stmt>> stmts;
  std::vector<std::pair<int64_t, size_t>> heap;  // (max_ts, statement), max-heap
  auto step = [&](size_t i) -> Status {
    int rc = sqlite3_step(stmts[i]->get());
    if (rc == SQLITE_ROW) {
      heap.emplace_back(sqlite3_column_int64(stmts[i]->get(), 2), i);
      std::push_heap(heap.begin(), heap.end());
      return Status::OK();
    }
    if (rc == SQLITE_DONE) return Status::OK();
    return StepError(path_ + ": reading blocks", db_);
  };
  for (int64_t id : only_streams_) {
    auto st = std::make_unique<Stmt>(db_,
                                     "SELECT stream, min_ts, max_ts, n, ts, lens, meta, lines FROM blocks "
                                     "WHERE stream = ?3 AND max_ts >= ?1 AND min_ts <= ?2 ORDER BY max_ts DESC");
    if (!st->ok()) return Status::Corruption(path_ + ": no blocks table: " + sqlite3_errmsg(db_));
    sqlite3_bind_int64(st->get(), 1, start);
    sqlite3_bind_int64(st->get(), 2, end);
    sqlite3_bind_int64(st->get(), 3, id);
    stmts.push_back(std::move(st));
    LOGE_RETURN_IF_ERROR(step(stmts.size() - 1));
  }
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const size_t i = heap.back().second;
    heap.pop_back();
    if (!fn(BlockCursor(stmts[i]->get()))) return Status::OK();
    LOGE_RETURN_IF_ERROR(step(i));
  }
  return Status::OK();
}

Result<std::vector<BlockGroup>> SegmentReader::ReadBlockGroups() {
  std::vector<BlockGroup> groups;
  Stmt st(db_, "SELECT first_block, last_block, min_ts, max_ts, n, trigrams FROM block_filters");
  if (!st.ok()) return groups;  // no such table: the file has no group filters
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    BlockGroup& g = groups.emplace_back();
    g.first_block = sqlite3_column_int64(st.get(), 0);
    g.last_block = sqlite3_column_int64(st.get(), 1);
    g.min_ts = sqlite3_column_int64(st.get(), 2);
    g.max_ts = sqlite3_column_int64(st.get(), 3);
    g.n = static_cast<uint64_t>(sqlite3_column_int64(st.get(), 4));
    g.trigrams = std::string(ColumnView(st.get(), 5));
  }
  if (rc != SQLITE_DONE) return StepError(path_ + ": reading block_filters", db_);
  return groups;
}

Status SegmentReader::ScanBlockRange(int64_t first, int64_t last, int64_t start, int64_t end,
                                     const std::function<bool(const BlockCursor&)>& fn) {
  // The rowid range drives the scan (a B-tree range on the table itself), so
  // only the pages of these blocks are read.
  Stmt st(db_,
          "SELECT stream, min_ts, max_ts, n, ts, lens, meta, lines FROM blocks NOT INDEXED "
          "WHERE id BETWEEN ?1 AND ?2 AND max_ts >= ?3 AND min_ts <= ?4");
  if (!st.ok()) return Status::Corruption(path_ + ": no blocks table: " + sqlite3_errmsg(db_));
  sqlite3_bind_int64(st.get(), 1, first);
  sqlite3_bind_int64(st.get(), 2, last);
  sqlite3_bind_int64(st.get(), 3, start);
  sqlite3_bind_int64(st.get(), 4, end);
  BlockCursor cur(st.get());
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    if (!fn(cur)) return Status::OK();
  }
  if (rc != SQLITE_DONE) return StepError(path_ + ": reading blocks", db_);
  return Status::OK();
}

}  // namespace loge::storage
