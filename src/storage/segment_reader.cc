#include "storage/segment_reader.h"

#include <simdjson.h>
#include <sqlite3.h>

#include <algorithm>
#include <memory>

#include "io/file_system.h"
#include "storage/filter_frame.h"
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

// Block scan columns. Format 2 reads the text by id, on demand.
constexpr const char* kColumnsV2 = "stream, min_ts, max_ts, n, id, ts, bytes";
constexpr const char* kColumnsV1 = "stream, min_ts, max_ts, n, ts, lens, meta, lines";

}  // namespace

int64_t BlockCursor::stream() const { return sqlite3_column_int64(st_, 0); }
int64_t BlockCursor::min_ts() const { return sqlite3_column_int64(st_, 1); }
int64_t BlockCursor::max_ts() const { return sqlite3_column_int64(st_, 2); }
uint32_t BlockCursor::n() const { return static_cast<uint32_t>(sqlite3_column_int64(st_, 3)); }

Status BlockCursor::LoadText() const {
  if (r_->version_ < 2 || loaded_) return load_status_;
  loaded_ = true;
  sqlite3_stmt* t = r_->text_stmt_;
  sqlite3_reset(t);
  sqlite3_bind_int64(t, 1, sqlite3_column_int64(st_, 4));
  int rc = sqlite3_step(t);
  if (rc == SQLITE_ROW) return load_status_ = Status::OK();
  if (rc == SQLITE_DONE) return load_status_ = Status::Corruption(r_->path_ + ": block without its text row");
  return load_status_ = StepError(r_->path_ + ": reading texts", r_->db_);
}

uint64_t BlockCursor::line_bytes() const {
  if (r_->version_ >= 2) return static_cast<uint64_t>(sqlite3_column_int64(st_, 6));
  const uint32_t count = n();
  return lines().size() - (count > 0 ? count - 1 : 0);
}

std::string_view BlockCursor::lines() const {
  if (r_->version_ < 2) return ColumnView(st_, 7);
  if (!LoadText().ok()) return {};
  return ColumnView(r_->text_stmt_, 0);
}

Status BlockCursor::Rows(std::vector<RowView>* rows) const {
  if (r_->version_ < 2) return DecodeBlock(ColumnView(st_, 4), ColumnView(st_, 5), ColumnView(st_, 7), n(), rows);
  LOGE_RETURN_IF_ERROR(LoadText());
  return DecodeBlock2(ColumnView(st_, 5), ColumnView(r_->text_stmt_, 0), ColumnView(r_->text_stmt_, 1), n(), rows);
}

Status BlockCursor::Timestamps(std::vector<int64_t>* ts) const {
  return DecodeTimestamps(ColumnView(st_, r_->version_ < 2 ? 4 : 5), n(), ts);
}

bool BlockCursor::HasMetadata() const {
  if (r_->version_ < 2) return !ColumnView(st_, 6).empty();
  return LoadText().ok() && !ColumnView(r_->text_stmt_, 2).empty();
}

Result<std::vector<std::string>> BlockCursor::Metadata() const {
  if (r_->version_ < 2) return DecodeBlockMeta(ColumnView(st_, 6), n());
  LOGE_RETURN_IF_ERROR(LoadText());
  return DecodeBlockMeta(ColumnView(r_->text_stmt_, 2), n());
}

Result<Block> BlockCursor::Encoded() const {
  Block b;
  b.min_ts = min_ts();
  b.max_ts = max_ts();
  b.n = n();
  if (r_->version_ >= 2) {
    LOGE_RETURN_IF_ERROR(LoadText());
    b.ts = ColumnView(st_, 5);
    b.lines = ColumnView(r_->text_stmt_, 0);
    b.nl = ColumnView(r_->text_stmt_, 1);
    b.meta = ColumnView(r_->text_stmt_, 2);
    b.bytes = b.lines.size() - (b.n > 0 ? b.n - 1 : 0);
    return b;
  }
  // Format 1: rebuild the entries and encode them anew (dropping exact
  // duplicates, which format-1 writers kept).
  std::vector<RowView> rows;
  LOGE_RETURN_IF_ERROR(Rows(&rows));
  std::vector<std::string> meta;
  if (HasMetadata()) {
    LOGE_ASSIGN_OR_RETURN(meta, Metadata());
  }
  std::vector<Entry> entries(rows.size());
  std::vector<const Entry*> ptrs(rows.size());
  for (size_t i = 0; i < rows.size(); i++) {
    entries[i] = Entry{rows[i].ts, std::string(rows[i].line), meta.empty() ? std::string() : meta[i]};
    ptrs[i] = &entries[i];
  }
  ptrs = DropDuplicates(ptrs);
  return EncodeBlock2(ptrs.data(), ptrs.data() + ptrs.size());
}

Result<std::unique_ptr<SegmentReader>> SegmentReader::Open(const std::string& path, int page_cache_kib) {
  LOGE_RETURN_IF_ERROR(RegisterZstdVfs());
  std::unique_ptr<SegmentReader> r(new SegmentReader());
  r->path_ = IsRemoteUrl(path) ? RemoteCacheKey(path) : path;  // messages never show a signature
  LOGE_RETURN_IF_ERROR(OpenCompressedDb(path, &r->db_));
  if (page_cache_kib > 0) {
    const std::string pragma = "PRAGMA cache_size=-" + std::to_string(page_cache_kib);
    sqlite3_exec(r->db_, pragma.c_str(), nullptr, nullptr, nullptr);
  }
  {
    Stmt st(r->db_, "SELECT value FROM meta WHERE key = 'format_version'");
    if (!st.ok()) return Status::Corruption(r->path_ + ": no meta table: " + sqlite3_errmsg(r->db_));
    int rc = sqlite3_step(st.get());
    if (rc == SQLITE_ROW) {
      r->version_ = static_cast<int>(sqlite3_column_int64(st.get(), 0));
    } else if (rc == SQLITE_DONE) {
      return Status::Corruption(r->path_ + ": meta has no format_version");
    } else {
      return StepError(r->path_ + ": reading meta", r->db_);
    }
  }
  if (r->version_ > kSegmentFormatVersion || r->version_ < 1) {
    return Status::Corruption(r->path_ + ": segment format version " + std::to_string(r->version_) +
                              " is not one this loge reads (1.." + std::to_string(kSegmentFormatVersion) + ")");
  }
  if (r->version_ >= 2 && sqlite3_prepare_v2(r->db_, "SELECT lines, nl, meta FROM texts WHERE id = ?1", -1,
                                             &r->text_stmt_, nullptr) != SQLITE_OK) {
    return Status::Corruption(r->path_ + ": no texts table: " + sqlite3_errmsg(r->db_));
  }
  return r;
}

Status SegmentReader::IntegrityCheck() {
  // SQLite reports up to this many problems; the first few say enough.
  constexpr int kMaxFindings = 5;
  Stmt st(db_, "PRAGMA integrity_check(5)");
  if (!st.ok()) return StepError(path_ + ": integrity_check", db_);
  std::string findings;
  int rc;
  int n = 0;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    std::string_view line = ColumnView(st.get(), 0);
    if (line == "ok") continue;
    if (n++ < kMaxFindings) findings += (findings.empty() ? "" : "; ") + std::string(line);
  }
  if (rc != SQLITE_DONE) return StepError(path_ + ": integrity_check", db_);
  if (!findings.empty()) return Status::Corruption(path_ + ": integrity_check: " + findings);
  return Status::OK();
}

SegmentReader::~SegmentReader() {
  sqlite3_finalize(text_stmt_);
  if (db_) sqlite3_close(db_);
}

const char* SegmentReader::BlockColumns() const { return version_ >= 2 ? kColumnsV2 : kColumnsV1; }

Result<SegmentInfo> SegmentReader::ReadInfo() {
  Stmt st(db_, "SELECT key, value FROM meta");
  if (!st.ok()) return Status::Corruption(path_ + ": no meta table: " + sqlite3_errmsg(db_));
  SegmentInfo info;
  info.format_version = version_;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    std::string_view key = ColumnView(st.get(), 0);
    if (key == "min_ts") {
      info.min_ts = sqlite3_column_int64(st.get(), 1);
    } else if (key == "max_ts") {
      info.max_ts = sqlite3_column_int64(st.get(), 1);
    } else if (key == "rows") {
      info.rows = sqlite3_column_int64(st.get(), 1);
    } else if (key == "streams") {
      info.streams = sqlite3_column_int64(st.get(), 1);
    } else if (key == "line_bytes") {
      info.line_bytes = sqlite3_column_int64(st.get(), 1);
    } else if (key == "token_filter") {
      info.token_filter = std::string(ColumnView(st.get(), 1));
    } else if (key == "trigram_filter") {
      info.trigram_filter = std::string(ColumnView(st.get(), 1));
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
  Stmt st(db_, "SELECT id, labels FROM streams ORDER BY id");
  if (!st.ok()) return Status::Corruption(path_ + ": no streams table: " + sqlite3_errmsg(db_));
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    fn(sqlite3_column_int64(st.get(), 0), ColumnView(st.get(), 1));
  }
  if (rc != SQLITE_DONE) return StepError(path_ + ": reading streams", db_);
  return Status::OK();
}

Status SegmentReader::Scan(const std::string& where_order, const std::function<void(sqlite3_stmt*)>& bind,
                           const std::function<bool(const BlockCursor&)>& fn) {
  const std::string sql = std::string("SELECT ") + BlockColumns() + " FROM blocks " + where_order;
  Stmt st(db_, sql.c_str());
  if (!st.ok()) return Status::Corruption(path_ + ": no blocks table: " + sqlite3_errmsg(db_));
  bind(st.get());
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    if (!fn(BlockCursor(st.get(), this))) return Status::OK();
  }
  if (rc != SQLITE_DONE) return StepError(path_ + ": reading blocks", db_);
  return Status::OK();
}

Status SegmentReader::ScanBlocksNewestFirst(int64_t start, int64_t end,
                                            const std::function<bool(const BlockCursor&)>& fn) {
  if (!only_streams_.empty() && only_streams_.size() <= kMaxMergedStreams) {
    return ScanStreamsNewestFirst(start, end, fn);
  }
  return Scan(
      "WHERE max_ts >= ?1 AND min_ts <= ?2 ORDER BY max_ts DESC",
      [&](sqlite3_stmt* st) {
        sqlite3_bind_int64(st, 1, start);
        sqlite3_bind_int64(st, 2, end);
      },
      fn);
}

Status SegmentReader::ScanStreamOldestFirst(int64_t stream, const std::function<bool(const BlockCursor&)>& fn) {
  return Scan(
      "WHERE stream = ?1 ORDER BY max_ts, id", [&](sqlite3_stmt* st) { sqlite3_bind_int64(st, 1, stream); }, fn);
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
  const std::string sql = std::string("SELECT ") + BlockColumns() +
                          " FROM blocks WHERE stream = ?3 AND max_ts >= ?1 AND min_ts <= ?2 ORDER BY max_ts DESC";
  for (int64_t id : only_streams_) {
    auto st = std::make_unique<Stmt>(db_, sql.c_str());
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
    if (!fn(BlockCursor(stmts[i]->get(), this))) return Status::OK();
    LOGE_RETURN_IF_ERROR(step(i));
  }
  return Status::OK();
}

Result<std::vector<BlockHeader>> SegmentReader::StreamBlocks(int64_t stream) {
  std::vector<BlockHeader> out;
  Stmt st(db_, "SELECT id, min_ts, max_ts, n FROM blocks WHERE stream = ?1 ORDER BY min_ts, max_ts, id");
  if (!st.ok()) return Status::Corruption(path_ + ": no blocks table: " + sqlite3_errmsg(db_));
  sqlite3_bind_int64(st.get(), 1, stream);
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    out.push_back(BlockHeader{sqlite3_column_int64(st.get(), 0), sqlite3_column_int64(st.get(), 1),
                              sqlite3_column_int64(st.get(), 2),
                              static_cast<uint32_t>(sqlite3_column_int64(st.get(), 3))});
  }
  if (rc != SQLITE_DONE) return StepError(path_ + ": reading blocks", db_);
  return out;
}

Result<Block> SegmentReader::ReadBlock(int64_t id) {
  Result<Block> out = Status::NotFound(path_ + ": no block " + std::to_string(id));
  LOGE_RETURN_IF_ERROR(Scan(
      "WHERE id = ?1", [&](sqlite3_stmt* st) { sqlite3_bind_int64(st, 1, id); },
      [&](const BlockCursor& b) {
        out = b.Encoded();
        return false;
      }));
  return out;
}

Result<FileFiltersPtr> SegmentReader::ReadFilters() {
  if (version_ < 2) return FileFiltersPtr();
  if (version_ >= 3) {
    // In the filter frame: mapped for a local file, fetched for a remote one.
    Result<FileFiltersPtr> f = FileFiltersPtr();
    if (IsRemoteUrl(path_)) {
      auto r = OpenSeekable(path_);
      f = r.ok() ? ReadFilterFrame(**r) : Result<FileFiltersPtr>(r.status());
    } else {
      f = LoadFilterFrame(io::DefaultFileSystem(), path_);
    }
    if (!f.ok()) return f.status().WithContext(path_);
    return f;  // null: written without filters
  }
  auto common = ReadMeta("common_trigrams");
  if (!common.ok()) {
    if (common.status().code() == Code::kNotFound) return FileFiltersPtr();
    return common.status();
  }
  std::string summary;
  {
    // Files written before summaries have no such table.
    Stmt st(db_, "SELECT filter FROM summary WHERE id = 1");
    if (st.ok()) {
      const int rc = sqlite3_step(st.get());
      if (rc == SQLITE_ROW) {
        summary = std::string(ColumnView(st.get(), 0));
      } else if (rc != SQLITE_DONE) {
        return StepError(path_ + ": reading the filter summary", db_);
      }
    }
  }
  Stmt st(db_, "SELECT first_block, last_block, min_ts, max_ts, n, filter FROM groups ORDER BY id");
  if (!st.ok()) return Status::Corruption(path_ + ": no groups table: " + sqlite3_errmsg(db_));
  std::vector<GroupFilter> groups;
  std::vector<std::string> filters;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    GroupFilter& g = groups.emplace_back();
    g.first_block = sqlite3_column_int64(st.get(), 0);
    g.last_block = sqlite3_column_int64(st.get(), 1);
    g.min_ts = sqlite3_column_int64(st.get(), 2);
    g.max_ts = sqlite3_column_int64(st.get(), 3);
    g.n = static_cast<uint64_t>(sqlite3_column_int64(st.get(), 4));
    filters.emplace_back(ColumnView(st.get(), 5));
  }
  if (rc != SQLITE_DONE) return StepError(path_ + ": reading groups", db_);
  auto f = FileFilters::Assemble(*common, summary, std::move(groups), filters);
  if (!f.ok()) return f.status().WithContext(path_);
  return FileFiltersPtr(std::make_shared<const FileFilters>(std::move(*f)));
}

Result<std::vector<BlockGroup>> SegmentReader::ReadBlockGroups() {
  std::vector<BlockGroup> groups;
  if (version_ >= 2) return groups;
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
  return Scan(
      "NOT INDEXED WHERE id BETWEEN ?1 AND ?2 AND max_ts >= ?3 AND min_ts <= ?4",
      [&](sqlite3_stmt* st) {
        sqlite3_bind_int64(st, 1, first);
        sqlite3_bind_int64(st, 2, last);
        sqlite3_bind_int64(st, 3, start);
        sqlite3_bind_int64(st, 4, end);
      },
      fn);
}

}  // namespace loge::storage
