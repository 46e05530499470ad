#include "storage/segment_reader.h"

#include <simdjson.h>
#include <sqlite3.h>

#include "storage/sqlite_util.h"
#include "storage/zstd_vfs.h"

namespace loge::storage {

int64_t BlockCursor::stream() const { return sqlite3_column_int64(st_, 0); }
int64_t BlockCursor::min_ts() const { return sqlite3_column_int64(st_, 1); }
int64_t BlockCursor::max_ts() const { return sqlite3_column_int64(st_, 2); }
uint32_t BlockCursor::n() const { return static_cast<uint32_t>(sqlite3_column_int64(st_, 3)); }
std::string_view BlockCursor::ts() const { return ColumnView(st_, 4); }
std::string_view BlockCursor::lens() const { return ColumnView(st_, 5); }
std::string_view BlockCursor::meta() const { return ColumnView(st_, 6); }
std::string_view BlockCursor::lines() const { return ColumnView(st_, 7); }

Result<std::unique_ptr<SegmentReader>> SegmentReader::Open(const std::string& path) {
  LOGE_RETURN_IF_ERROR(RegisterZstdVfs());
  std::unique_ptr<SegmentReader> r(new SegmentReader());
  r->path_ = path;
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
  if (rc != SQLITE_DONE) return Status::Corruption(path_ + ": reading meta: " + sqlite3_errmsg(db_));
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
  return Status::Corruption(path_ + ": reading meta: " + sqlite3_errmsg(db_));
}

Status SegmentReader::ForEachStream(const std::function<void(int64_t, std::string_view)>& fn) {
  Stmt st(db_, "SELECT id, labels FROM streams");
  if (!st.ok()) return Status::Corruption(path_ + ": no streams table: " + sqlite3_errmsg(db_));
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    fn(sqlite3_column_int64(st.get(), 0), ColumnView(st.get(), 1));
  }
  if (rc != SQLITE_DONE) return Status::Corruption(path_ + ": reading streams: " + sqlite3_errmsg(db_));
  return Status::OK();
}

Status SegmentReader::ScanBlocksNewestFirst(int64_t start, int64_t end,
                                            const std::function<bool(const BlockCursor&)>& fn) {
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
  if (rc != SQLITE_DONE) return Status::Corruption(path_ + ": reading blocks: " + sqlite3_errmsg(db_));
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
  if (rc != SQLITE_DONE) return Status::Corruption(path_ + ": reading block_filters: " + sqlite3_errmsg(db_));
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
  if (rc != SQLITE_DONE) return Status::Corruption(path_ + ": reading blocks: " + sqlite3_errmsg(db_));
  return Status::OK();
}

}  // namespace loge::storage
