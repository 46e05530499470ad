#include "storage/segment_writer.h"

#include <sqlite3.h>

#include <algorithm>

#include "core/json_writer.h"
#include "core/time.h"
#include "io/file_system.h"
#include "storage/block.h"
#include "storage/seekable_zstd.h"

namespace loge::storage {

namespace {

// The schema, version kSegmentFormatVersion. Columns of `blocks` are ordered
// small-first so a scan that rejects a block by stream or time never reads
// its lines.
constexpr const char* kSchema = R"sql(
PRAGMA page_size=4096;
PRAGMA journal_mode=OFF;
PRAGMA synchronous=OFF;
CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE streams(id INTEGER PRIMARY KEY, labels TEXT NOT NULL);
CREATE TABLE blocks(
  id INTEGER PRIMARY KEY,
  stream INTEGER NOT NULL,
  min_ts INTEGER NOT NULL,
  max_ts INTEGER NOT NULL,
  n INTEGER NOT NULL,
  ts BLOB NOT NULL,
  lens BLOB NOT NULL,
  meta TEXT,
  lines TEXT NOT NULL);
)sql";

// Indexes are created after the inserts (faster, and denser pages).
constexpr const char* kIndexes = R"sql(
CREATE INDEX blocks_by_time ON blocks(max_ts, min_ts);
CREATE INDEX blocks_by_stream ON blocks(stream, max_ts);
)sql";

Status SqlError(sqlite3* db, const char* what) {
  return Status::IOError(std::string("sqlite ") + what + ": " + sqlite3_errmsg(db));
}

}  // namespace

struct SegmentWriter::Stmts {
  sqlite3_stmt* stream = nullptr;
  sqlite3_stmt* block = nullptr;
  ~Stmts() {
    sqlite3_finalize(stream);
    sqlite3_finalize(block);
  }
};

SegmentWriter::SegmentWriter() { init_status_ = Init(); }

SegmentWriter::~SegmentWriter() {
  stmts_.reset();
  if (db_) sqlite3_close(db_);
}

Status SegmentWriter::Init() {
  if (sqlite3_open_v2(":memory:", &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return SqlError(db_, "open :memory:");
  }
  if (sqlite3_exec(db_, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) return SqlError(db_, "schema");
  if (sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) return SqlError(db_, "begin");
  stmts_ = std::make_unique<Stmts>();
  if (sqlite3_prepare_v2(db_, "INSERT INTO streams(id, labels) VALUES(?1, ?2)", -1, &stmts_->stream,
                         nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_,
                         "INSERT INTO blocks(stream, min_ts, max_ts, n, ts, lens, meta, lines) "
                         "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                         -1, &stmts_->block, nullptr) != SQLITE_OK) {
    return SqlError(db_, "prepare");
  }
  return Status::OK();
}

Status SegmentWriter::AddStream(const Labels& labels, const std::vector<Entry>& entries) {
  std::vector<const Entry*> ptrs;
  ptrs.reserve(entries.size());
  for (const auto& e : entries) ptrs.push_back(&e);
  return AddStream(labels, ptrs);
}

Status SegmentWriter::AddStream(const Labels& labels, const std::vector<const Entry*>& entries) {
  LOGE_RETURN_IF_ERROR(init_status_);
  if (entries.empty()) return Status::OK();
  int64_t id = next_stream_id_++;
  std::string json = LabelsToJson(labels);
  sqlite3_stmt* s = stmts_->stream;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_text(s, 2, json.data(), static_cast<int>(json.size()), SQLITE_STATIC);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) return SqlError(db_, "insert stream");
  for (const auto& [k, v] : labels) keys_.push_back(k);

  const Entry* const* p = entries.data();
  const Entry* const* end = p + entries.size();
  while (p < end) {
    const Entry* const* q = p;
    size_t bytes = 0;
    while (q < end && static_cast<size_t>(q - p) < kBlockMaxLines &&
           (q == p || bytes + (*q)->line.size() <= kBlockMaxBytes)) {
      bytes += (*q)->line.size() + 1;
      ++q;
    }
    EncodedBlock b = EncodeBlock(p, q);
    sqlite3_stmt* st = stmts_->block;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, b.min_ts);
    sqlite3_bind_int64(st, 3, b.max_ts);
    sqlite3_bind_int64(st, 4, b.n);
    sqlite3_bind_blob(st, 5, b.ts.data(), static_cast<int>(b.ts.size()), SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, b.lens.data(), static_cast<int>(b.lens.size()), SQLITE_STATIC);
    if (b.meta.empty()) {
      sqlite3_bind_null(st, 7);
    } else {
      sqlite3_bind_text(st, 7, b.meta.data(), static_cast<int>(b.meta.size()), SQLITE_STATIC);
    }
    sqlite3_bind_text(st, 8, b.lines.data(), static_cast<int>(b.lines.size()), SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return SqlError(db_, "insert block");
    if (info_.rows == 0) {
      info_.min_ts = b.min_ts;
      info_.max_ts = b.max_ts;
    } else {
      info_.min_ts = std::min(info_.min_ts, b.min_ts);
      info_.max_ts = std::max(info_.max_ts, b.max_ts);
    }
    info_.rows += b.n;
    p = q;
  }
  info_.streams++;
  return Status::OK();
}

Result<std::string> SegmentWriter::Finish(SegmentInfo* info) {
  LOGE_RETURN_IF_ERROR(init_status_);
  std::sort(keys_.begin(), keys_.end());
  keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
  info_.label_keys = keys_;
  JsonWriter kw;
  kw.BeginArray();
  for (const auto& k : keys_) kw.String(k);
  kw.EndArray();
  std::string keys_json = kw.Take();
  std::string meta_sql =
      "INSERT INTO meta(key, value) VALUES ('format_version', " + std::to_string(kSegmentFormatVersion) +
      "), ('min_ts', " + std::to_string(info_.min_ts) + "), ('max_ts', " + std::to_string(info_.max_ts) +
      "), ('rows', " + std::to_string(info_.rows) + "), ('streams', " + std::to_string(info_.streams) +
      "), ('label_keys', ?1)";
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, meta_sql.c_str(), -1, &st, nullptr) != SQLITE_OK) return SqlError(db_, "meta");
  sqlite3_bind_text(st, 1, keys_json.data(), static_cast<int>(keys_json.size()), SQLITE_STATIC);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return SqlError(db_, "insert meta");
  for (const auto& [k, v, blob] : extra_meta_) {
    st = nullptr;
    if (sqlite3_prepare_v2(db_, "INSERT INTO meta(key, value) VALUES (?1, ?2)", -1, &st, nullptr) != SQLITE_OK) {
      return SqlError(db_, "meta");
    }
    sqlite3_bind_text(st, 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
    if (blob) {
      sqlite3_bind_blob(st, 2, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    } else {
      sqlite3_bind_text(st, 2, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    }
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return SqlError(db_, "insert meta");
  }
  if (sqlite3_exec(db_, kIndexes, nullptr, nullptr, nullptr) != SQLITE_OK) return SqlError(db_, "indexes");
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return SqlError(db_, "commit");
  sqlite3_int64 size = 0;
  unsigned char* bytes = sqlite3_serialize(db_, "main", &size, 0);
  if (!bytes) return SqlError(db_, "serialize");
  std::string image(reinterpret_cast<const char*>(bytes), static_cast<size_t>(size));
  sqlite3_free(bytes);
  // An in-memory database reports journal mode "memory" but its header says
  // legacy (bytes 18-19 = 1); the reader needs exactly that.
  if (image.size() >= 20) {
    image[18] = 1;
    image[19] = 1;
  }
  *info = info_;
  return image;
}

Result<uint64_t> WriteSegmentFile(io::FileSystem* fs, const std::string& path, std::string_view image,
                                  const SeekableOptions& compression) {
  std::string compressed;
  LOGE_RETURN_IF_ERROR(CompressSeekable(image, compression, &compressed));
  LOGE_RETURN_IF_ERROR(io::WriteFileAtomic(fs, path, compressed));
  return static_cast<uint64_t>(compressed.size());
}

// Builds the catalog row of a file this process just wrote.
CatalogEntry EntryFor(FileKind kind, std::string name, const SegmentInfo& info, uint64_t bytes) {
  CatalogEntry e;
  e.kind = kind;
  e.path = std::move(name);
  e.min_ts = info.min_ts;
  e.max_ts = info.max_ts;
  e.rows = info.rows;
  e.bytes = bytes;
  e.label_keys = info.label_keys;
  e.sealed_at = NowNanos();
  return e;
}

}  // namespace loge::storage
