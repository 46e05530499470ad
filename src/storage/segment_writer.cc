#include "storage/segment_writer.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>

#include "core/json_writer.h"
#include "core/time.h"
#include "io/file_system.h"
#include "storage/filter_frame.h"
#include "storage/fuse_filter.h"

namespace loge::storage {

namespace {

// The schema, version kSegmentFormatVersion. The tables are created first
// so their root pages sit in the head frame; `texts` fills the file next,
// the others are filled by WriteTail.
constexpr const char* kSchema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE streams(id INTEGER PRIMARY KEY, labels TEXT NOT NULL);
CREATE TABLE texts(id INTEGER PRIMARY KEY, lines TEXT NOT NULL, nl BLOB, meta TEXT);
CREATE TABLE blocks(
  id INTEGER PRIMARY KEY,
  stream INTEGER NOT NULL,
  min_ts INTEGER NOT NULL,
  max_ts INTEGER NOT NULL,
  n INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  ts BLOB NOT NULL);
CREATE VIEW logs AS
  SELECT b.id AS block, s.labels AS labels, b.min_ts AS min_ts, b.max_ts AS max_ts, b.n AS n, t.lines AS lines
  FROM blocks b JOIN streams s ON s.id = b.stream JOIN texts t ON t.id = b.id;
)sql";

constexpr const char* kGroupsTable = R"sql(
CREATE TABLE groups(
  id INTEGER PRIMARY KEY,
  first_block INTEGER NOT NULL,
  last_block INTEGER NOT NULL,
  min_ts INTEGER NOT NULL,
  max_ts INTEGER NOT NULL,
  n INTEGER NOT NULL,
  filter BLOB NOT NULL);
CREATE TABLE summary(id INTEGER PRIMARY KEY, filter BLOB NOT NULL);
)sql";

// Indexes are built last (faster, denser pages, and in the tail).
constexpr const char* kIndexes = R"sql(
CREATE INDEX blocks_by_time ON blocks(max_ts, min_ts);
CREATE INDEX blocks_by_stream ON blocks(stream, max_ts, min_ts);
)sql";

constexpr int kPageSize = 4096;

Status SqlError(sqlite3* db, const char* what) {
  return Status::IOError(std::string("sqlite ") + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

Status Exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return SqlError(db, sql);
  return Status::OK();
}

// Pushes the image's frames through `add`: the head frame, the text run in
// text_frame pieces, the tail in tail_frame pieces. `read(off, n, scratch)`
// supplies the bytes: a view of them, in *scratch or wherever they already
// are (an in-memory image is not copied again).
template <typename Read, typename Add>
Status ForEachFrame(uint64_t total, uint64_t text_end, const SegmentWriterOptions& o, Read&& read, Add&& add) {
  std::string scratch;
  uint64_t pos = 0;
  auto emit = [&](uint64_t end, uint64_t piece) -> Status {
    while (pos < end) {
      const uint64_t n = std::min<uint64_t>(piece, end - pos);
      LOGE_ASSIGN_OR_RETURN(std::string_view bytes, read(pos, n, &scratch));
      LOGE_RETURN_IF_ERROR(add(bytes));
      pos += n;
    }
    return Status::OK();
  };
  text_end = std::min(std::max<uint64_t>(text_end, kHeadFrameBytes), total);
  LOGE_RETURN_IF_ERROR(emit(std::min<uint64_t>(kHeadFrameBytes, total), kHeadFrameBytes));
  LOGE_RETURN_IF_ERROR(emit(text_end, o.text_frame_bytes));
  return emit(total, o.tail_frame_bytes);
}

}  // namespace

// The bytes of an in-memory database, as sqlite3_serialize made them.
struct SerializedImage {
  unsigned char* bytes = nullptr;
  size_t size = 0;
  SerializedImage() = default;
  SerializedImage(const SerializedImage&) = delete;
  SerializedImage& operator=(const SerializedImage&) = delete;
  ~SerializedImage() { sqlite3_free(bytes); }
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes), size}; }
};

std::vector<const Entry*> DropDuplicates(const std::vector<const Entry*>& sorted) {
  std::vector<const Entry*> out;
  out.reserve(sorted.size());
  size_t i = 0;
  while (i < sorted.size()) {
    size_t j = i + 1;
    while (j < sorted.size() && sorted[j]->ts == sorted[i]->ts) j++;
    if (j - i == 1) {
      out.push_back(sorted[i]);
    } else {
      // Rows at one instant: order them by content and keep each once.
      std::vector<const Entry*> run(sorted.begin() + static_cast<long>(i), sorted.begin() + static_cast<long>(j));
      std::sort(run.begin(), run.end(), [](const Entry* a, const Entry* b) {
        return a->line != b->line ? a->line < b->line : a->metadata < b->metadata;
      });
      for (size_t k = 0; k < run.size(); k++) {
        if (k > 0 && run[k]->line == run[k - 1]->line && run[k]->metadata == run[k - 1]->metadata) continue;
        out.push_back(run[k]);
      }
    }
    i = j;
  }
  return out;
}

struct SegmentWriter::Stmts {
  sqlite3_stmt* text = nullptr;
  ~Stmts() { sqlite3_finalize(text); }
};

SegmentWriter::SegmentWriter(SegmentWriterOptions opts) : opts_(std::move(opts)) {
  init_status_ = Init();
  if (opts_.group_lines > 0) {
    filters_ = std::make_unique<FilterBuilder>(opts_.group_lines, opts_.trigram_filters);
    if (opts_.keep_block_id_keys) filters_->RecordBlockIdKeys();
  }
}

SegmentWriter::~SegmentWriter() {
  stmts_.reset();
  if (db_) sqlite3_close(db_);
  if (!opts_.scratch_path.empty()) (void)io::DefaultFileSystem()->Remove(opts_.scratch_path);
}

Status SegmentWriter::Init() {
  const bool in_memory = opts_.scratch_path.empty();
  const char* name = in_memory ? ":memory:" : opts_.scratch_path.c_str();
  if (sqlite3_open_v2(name, &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    return SqlError(db_, "open");
  }
  LOGE_RETURN_IF_ERROR(Exec(db_, "PRAGMA page_size=4096"));
  LOGE_RETURN_IF_ERROR(Exec(db_, "PRAGMA journal_mode=OFF"));
  LOGE_RETURN_IF_ERROR(Exec(db_, "PRAGMA synchronous=OFF"));
  if (!in_memory) {
    LOGE_RETURN_IF_ERROR(Exec(db_, "PRAGMA locking_mode=EXCLUSIVE"));
    LOGE_RETURN_IF_ERROR(Exec(db_, "PRAGMA cache_size=-8192"));  // 8 MiB: pages go to the file as they fill
  }
  LOGE_RETURN_IF_ERROR(Exec(db_, kSchema));
  if (opts_.group_lines > 0) LOGE_RETURN_IF_ERROR(Exec(db_, kGroupsTable));
  LOGE_RETURN_IF_ERROR(Exec(db_, "BEGIN"));
  stmts_ = std::make_unique<Stmts>();
  if (sqlite3_prepare_v2(db_, "INSERT INTO texts(id, lines, nl, meta) VALUES(?1, ?2, ?3, ?4)", -1, &stmts_->text,
                         nullptr) != SQLITE_OK) {
    return SqlError(db_, "prepare");
  }
  return Status::OK();
}

size_t SegmentWriter::MemoryBytes() const {
  size_t b = pending_ts_bytes_ + blocks_.size() * sizeof(PendingBlock);
  if (filters_) b += filters_->PendingBytes();
  if (opts_.scratch_path.empty() && db_) b += static_cast<size_t>(sqlite3_memory_used());
  return b;
}

Status SegmentWriter::AddStream(const Labels& labels, const std::vector<Entry>& entries) {
  std::vector<const Entry*> ptrs;
  ptrs.reserve(entries.size());
  for (const auto& e : entries) ptrs.push_back(&e);
  return AddStream(labels, ptrs);
}

Status SegmentWriter::AddStream(const Labels& labels, const std::vector<const Entry*>& sorted) {
  LOGE_RETURN_IF_ERROR(init_status_);
  if (sorted.empty()) return Status::OK();
  const std::vector<const Entry*> entries = DropDuplicates(sorted);
  std::vector<std::string> keys;
  for (const auto& [k, v] : labels) keys.push_back(k);
  LOGE_RETURN_IF_ERROR(BeginStream(LabelsToJson(labels), keys));
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
    LOGE_RETURN_IF_ERROR(AddBlock(EncodeBlock2(p, q)));
    p = q;
  }
  return Status::OK();
}

Status SegmentWriter::BeginStream(std::string labels_json, const std::vector<std::string>& label_keys) {
  LOGE_RETURN_IF_ERROR(init_status_);
  if (finished_) return Status::InvalidArgument("SegmentWriter: already finished");
  stream_json_.push_back(std::move(labels_json));
  keys_.insert(keys_.end(), label_keys.begin(), label_keys.end());
  info_.streams++;
  return Status::OK();
}

Status SegmentWriter::WriteText(const Block& b) {
  sqlite3_stmt* st = stmts_->text;
  sqlite3_bind_int64(st, 1, next_block_id_);
  sqlite3_bind_text(st, 2, b.lines.data(), static_cast<int>(b.lines.size()), SQLITE_STATIC);
  if (b.nl.empty()) {
    sqlite3_bind_null(st, 3);
  } else {
    sqlite3_bind_blob(st, 3, b.nl.data(), static_cast<int>(b.nl.size()), SQLITE_STATIC);
  }
  if (b.meta.empty()) {
    sqlite3_bind_null(st, 4);
  } else {
    sqlite3_bind_text(st, 4, b.meta.data(), static_cast<int>(b.meta.size()), SQLITE_STATIC);
  }
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return SqlError(db_, "insert text");
  return Status::OK();
}

Status SegmentWriter::AddBlock(const Block& b) {
  LOGE_RETURN_IF_ERROR(init_status_);
  if (stream_json_.empty() || finished_) return Status::InvalidArgument("SegmentWriter: AddBlock outside a stream");
  if (b.n == 0) return Status::OK();
  if (b.lines.size() > static_cast<size_t>(INT32_MAX / 2)) return Status::InvalidArgument("block too large");
  LOGE_RETURN_IF_ERROR(WriteText(b));
  if (filters_) filters_->AddBlock(next_block_id_, b.min_ts, b.max_ts, b.n, b.lines, b.id_keys_known ? &b.id_keys : nullptr);
  blocks_.push_back(
      PendingBlock{static_cast<int64_t>(stream_json_.size()), b.min_ts, b.max_ts, b.n, b.bytes, b.ts});
  pending_ts_bytes_ += b.ts.size();
  next_block_id_++;
  if (info_.rows == 0) {
    info_.min_ts = b.min_ts;
    info_.max_ts = b.max_ts;
  } else {
    info_.min_ts = std::min(info_.min_ts, b.min_ts);
    info_.max_ts = std::max(info_.max_ts, b.max_ts);
  }
  info_.rows += b.n;
  info_.line_bytes += b.bytes;
  return Status::OK();
}

Status SegmentWriter::WriteTail() {
  LOGE_RETURN_IF_ERROR(init_status_);
  if (finished_) return Status::InvalidArgument("SegmentWriter: already finished");
  finished_ = true;
  info_.format_version = frame_ ? 3 : 2;
  {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, "PRAGMA page_count", -1, &st, nullptr) != SQLITE_OK) return SqlError(db_, "page_count");
    if (sqlite3_step(st) == SQLITE_ROW) text_end_page_ = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  auto each = [&](const char* sql, auto&& bind_and_step) -> Status {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) return SqlError(db_, sql);
    Status s = bind_and_step(st);
    sqlite3_finalize(st);
    return s;
  };
  auto step = [&](sqlite3_stmt* st, const char* what) -> Status {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? Status::OK() : SqlError(db_, what);
  };
  // Format 3 puts the filters in a filter frame after the image (WriteFile).
  // Format 2 writes them into the image, the group filters first: their
  // blobs are most of the tail's bytes and a
  // query reads them from a local file only (FilterCache; the catalog holds
  // them for remote rows), so the frames after them -- streams, blocks,
  // meta, indexes, what a remote query does read -- hold no filter bytes.
  // On a remote segment of 320,000 access lines with a hex id each (12.6 MB),
  // a query for one id fetched 758 KB in 7 requests with groups after
  // blocks, 544 KB in 6 with groups first (432 KB of it the block's text).
  if (filters_) {
    LOGE_ASSIGN_OR_RETURN(FileFilters f, filters_->Finish());
    info_.block_id_keys = filters_->TakeBlockIdKeys();
    filters_.reset();
    if (!frame_) {
      // The summary before the groups, for the same reason: its overflow
      // pages open the tail, and no frame a remote query reads holds them.
      // (Not in meta: a lookup in a WITHOUT ROWID table reads the whole
      // payload of every overflowing row its search compares against.)
      if (!f.summary.empty()) {
        LOGE_RETURN_IF_ERROR(each("INSERT INTO summary(id, filter) VALUES(1, ?1)", [&](sqlite3_stmt* st) {
          sqlite3_bind_blob(st, 1, f.summary.data(), static_cast<int>(f.summary.size()), SQLITE_STATIC);
          return step(st, "insert filter summary");
        }));
      }
      LOGE_RETURN_IF_ERROR(each(
          "INSERT INTO groups(id, first_block, last_block, min_ts, max_ts, n, filter) VALUES(?1,?2,?3,?4,?5,?6,?7)",
          [&](sqlite3_stmt* st) -> Status {
            for (size_t i = 0; i < f.groups.size(); i++) {
              const GroupFilter& g = f.groups[i];
              sqlite3_bind_int64(st, 1, static_cast<int64_t>(i + 1));
              sqlite3_bind_int64(st, 2, g.first_block);
              sqlite3_bind_int64(st, 3, g.last_block);
              sqlite3_bind_int64(st, 4, g.min_ts);
              sqlite3_bind_int64(st, 5, g.max_ts);
              sqlite3_bind_int64(st, 6, static_cast<int64_t>(g.n));
              sqlite3_bind_blob(st, 7, g.filter.data(), static_cast<int>(g.filter.size()), SQLITE_STATIC);
              LOGE_RETURN_IF_ERROR(step(st, "insert group"));
            }
            return Status::OK();
          }));
      SetMetaBlob("common_trigrams", std::string(f.common));
    }
    info_.filters = std::make_shared<const FileFilters>(std::move(f));
  }
  LOGE_RETURN_IF_ERROR(each("INSERT INTO streams(id, labels) VALUES(?1, ?2)", [&](sqlite3_stmt* st) -> Status {
    for (size_t i = 0; i < stream_json_.size(); i++) {
      sqlite3_bind_int64(st, 1, static_cast<int64_t>(i + 1));
      sqlite3_bind_text(st, 2, stream_json_[i].data(), static_cast<int>(stream_json_[i].size()), SQLITE_STATIC);
      LOGE_RETURN_IF_ERROR(step(st, "insert stream"));
    }
    return Status::OK();
  }));
  LOGE_RETURN_IF_ERROR(each("INSERT INTO blocks(id, stream, min_ts, max_ts, n, bytes, ts) VALUES(?1,?2,?3,?4,?5,?6,?7)",
                            [&](sqlite3_stmt* st) -> Status {
                              for (size_t i = 0; i < blocks_.size(); i++) {
                                const PendingBlock& b = blocks_[i];
                                sqlite3_bind_int64(st, 1, static_cast<int64_t>(i + 1));
                                sqlite3_bind_int64(st, 2, b.stream);
                                sqlite3_bind_int64(st, 3, b.min_ts);
                                sqlite3_bind_int64(st, 4, b.max_ts);
                                sqlite3_bind_int64(st, 5, b.n);
                                sqlite3_bind_int64(st, 6, static_cast<int64_t>(b.bytes));
                                sqlite3_bind_blob(st, 7, b.ts.data(), static_cast<int>(b.ts.size()), SQLITE_STATIC);
                                LOGE_RETURN_IF_ERROR(step(st, "insert block"));
                              }
                              return Status::OK();
                            }));
  std::vector<PendingBlock>().swap(blocks_);
  pending_ts_bytes_ = 0;
  std::sort(keys_.begin(), keys_.end());
  keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
  info_.label_keys = keys_;
  JsonWriter kw;
  kw.BeginArray();
  for (const auto& k : keys_) kw.String(k);
  kw.EndArray();
  std::vector<Meta> meta = {
      {"format_version", std::to_string(info_.format_version), false},
      {"min_ts", std::to_string(info_.min_ts), false},
      {"max_ts", std::to_string(info_.max_ts), false},
      {"rows", std::to_string(info_.rows), false},
      {"streams", std::to_string(info_.streams), false},
      {"line_bytes", std::to_string(info_.line_bytes), false},
      {"label_keys", kw.Take(), false},
  };
  for (auto& m : extra_meta_) meta.push_back(std::move(m));
  extra_meta_.clear();
  LOGE_RETURN_IF_ERROR(each("INSERT INTO meta(key, value) VALUES(?1, ?2)", [&](sqlite3_stmt* st) -> Status {
    for (const auto& [k, v, blob] : meta) {
      sqlite3_bind_text(st, 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
      // Numbers are stored as integers, so SQL can compare them.
      const bool integer = !blob && k != "label_keys" && !v.empty() &&
                           v.find_first_not_of("-0123456789") == std::string::npos &&
                           (k == "format_version" || k == "min_ts" || k == "max_ts" || k == "rows" ||
                            k == "streams" || k == "line_bytes");
      if (integer) {
        sqlite3_bind_int64(st, 2, std::stoll(v));
      } else if (blob) {
        sqlite3_bind_blob(st, 2, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
      } else {
        sqlite3_bind_text(st, 2, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
      }
      LOGE_RETURN_IF_ERROR(step(st, "insert meta"));
    }
    return Status::OK();
  }));
  LOGE_RETURN_IF_ERROR(Exec(db_, kIndexes));
  LOGE_RETURN_IF_ERROR(Exec(db_, "COMMIT"));
  stmts_.reset();
  return Status::OK();
}

// Writes the tail, takes the in-memory image and closes the database.
Status SegmentWriter::Serialize(SerializedImage* out) {
  LOGE_RETURN_IF_ERROR(WriteTail());
  sqlite3_int64 size = 0;
  out->bytes = sqlite3_serialize(db_, "main", &size, 0);
  if (!out->bytes) return SqlError(db_, "serialize");
  out->size = static_cast<size_t>(size);
  sqlite3_close(db_);
  db_ = nullptr;
  // An in-memory database reports journal mode "memory" but its header says
  // legacy (bytes 18-19 = 1); the reader needs exactly that.
  if (out->size >= 20) {
    out->bytes[18] = 1;
    out->bytes[19] = 1;
  }
  return Status::OK();
}

Result<std::string> SegmentWriter::Finish(SegmentInfo* info) {
  if (!opts_.scratch_path.empty()) return Status::InvalidArgument("SegmentWriter::Finish: use WriteFile");
  SerializedImage image;
  LOGE_RETURN_IF_ERROR(Serialize(&image));
  *info = info_;
  return std::string(image.view());
}

Status SegmentWriter::WriteFile(io::FileSystem* fs, const std::string& path, int level, SegmentInfo* info) {
  const std::string tmp = path + ".tmp";
  frame_ = opts_.filter_frame;
  std::shared_ptr<const std::string> blob;  // the filter frame's, when written
  uint64_t frame_at = 0;
  Status st = [&]() -> Status {
    SerializedImage image;
    std::unique_ptr<io::RandomAccessFile> scratch;
    uint64_t total = 0;
    if (opts_.scratch_path.empty()) {
      LOGE_RETURN_IF_ERROR(Serialize(&image));
      total = image.size;
    } else {
      LOGE_RETURN_IF_ERROR(WriteTail());
      if (sqlite3_close(db_) != SQLITE_OK) return SqlError(db_, "close");
      db_ = nullptr;
      LOGE_ASSIGN_OR_RETURN(scratch, fs->OpenRandomAccess(opts_.scratch_path));
      total = scratch->Size();
    }
    auto read = [&](uint64_t off, uint64_t n, std::string* buf) -> Result<std::string_view> {
      if (scratch == nullptr) return image.view().substr(off, n);
      buf->resize(n);
      size_t got = 0;
      LOGE_RETURN_IF_ERROR(scratch->Read(off, n, buf->data(), &got));
      if (got != n) return Status::IOError("short read of " + opts_.scratch_path);
      // The file database's header says legacy journal already
      // (journal_mode=OFF); nothing to patch.
      return std::string_view(*buf);
    };
    LOGE_ASSIGN_OR_RETURN(auto out, fs->NewWritableFile(tmp, false));
    SeekableWriter w(out.get(), level);
    LOGE_RETURN_IF_ERROR(ForEachFrame(total, static_cast<uint64_t>(text_end_page_) * kPageSize, opts_, read,
                                      [&](std::string_view f) { return w.AddFrame(f); }));
    if (frame_ && info_.filters) {
      blob = std::make_shared<const std::string>(info_.filters->Serialize());
      frame_at = out->Size();
      LOGE_RETURN_IF_ERROR(AddFilterFrame(&w, *blob));
    }
    LOGE_RETURN_IF_ERROR(w.Finish());
    LOGE_RETURN_IF_ERROR(out->Sync());
    info_.bytes = out->Size();
    LOGE_RETURN_IF_ERROR(out->Close());
    LOGE_RETURN_IF_ERROR(fs->Rename(tmp, path));
    return fs->SyncDir(io::DirName(path));
  }();
  if (!opts_.scratch_path.empty()) (void)fs->Remove(opts_.scratch_path);
  if (!st.ok()) {
    (void)fs->Remove(tmp);
    return st;
  }
  // The published filters point into the file's frame, mapped, instead of
  // the heap (filter_frame.h); its bytes are the blob just written, so
  // nothing is read back. A blob that does not parse cannot happen (the
  // builder made it); the heap filters stay then.
  if (blob) {
    if (auto f = MapWrittenFilterFrame(fs, path, frame_at, std::move(blob)); f.ok()) info_.filters = std::move(*f);
  }
  *info = info_;
  return Status::OK();
}

CatalogEntry EntryFor(FileKind kind, std::string name, const SegmentInfo& info, uint64_t bytes) {
  CatalogEntry e;
  e.kind = kind;
  e.path = std::move(name);
  e.min_ts = info.min_ts;
  e.max_ts = info.max_ts;
  e.rows = info.rows;
  e.bytes = bytes;
  e.label_keys = info.label_keys;
  e.line_bytes = info.line_bytes;
  e.format = info.format_version;
  e.token_filter = info.token_filter;
  e.trigram_filter = info.trigram_filter;
  e.filters = info.filters;
  e.block_id_keys = info.block_id_keys;
  e.sealed_at = NowNanos();
  return e;
}

}  // namespace loge::storage
