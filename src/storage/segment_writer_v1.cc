#include "storage/segment_writer_v1.h"

#include <sqlite3.h>

#include <algorithm>
#include <iterator>
#include <queue>

#include "core/json_writer.h"
#include "core/time.h"
#include "io/file_system.h"
#include "storage/block.h"
#include "storage/fuse_filter.h"
#include "storage/seekable_zstd.h"
#include "storage/terms.h"

namespace loge::storage {

namespace {

// The schema of format version 1. Columns of `blocks` are ordered
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

// Per-group filters (EnableFilters with group_lines > 0). first_block is the
// rowid, so the table is stored in block order and read in one pass.
constexpr const char* kBlockFiltersTable = R"sql(
CREATE TABLE block_filters(
  first_block INTEGER PRIMARY KEY,
  last_block INTEGER NOT NULL,
  min_ts INTEGER NOT NULL,
  max_ts INTEGER NOT NULL,
  n INTEGER NOT NULL,
  trigrams BLOB NOT NULL);
)sql";

// A trigram in more than this share of a file's groups is common: it is left
// out of the group filters (it would prune little and cost as much as a rare
// one) and goes into the file's common-trigram filter instead, which tells a
// query not to rely on it (docs/format-segment.md).
constexpr size_t kCommonGroupShareDenominator = 8;

// Key vectors are deduplicated once they hold this many keys (32 MiB), so
// memory follows the distinct keys, not the input bytes: a line of n bytes
// gives n-2 trigram keys, mostly seen before.
constexpr size_t kDedupeKeys = 4u << 20;

void SortUnique(std::vector<uint64_t>* keys) {
  std::sort(keys->begin(), keys->end());
  keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
}

// Appends the (already unique) group keys to the file's, deduping as it grows.
void MergeKeys(const std::vector<uint64_t>& group, std::vector<uint64_t>* file) {
  file->insert(file->end(), group.begin(), group.end());
  if (file->size() >= kDedupeKeys) SortUnique(file);
}

Result<std::string> BuildFilter(std::vector<uint64_t>* keys) {
  SortUnique(keys);
  LOGE_ASSIGN_OR_RETURN(FuseFilter f, FuseFilter::Build(std::move(*keys)));
  keys->clear();
  return f.Serialize();
}

// Indexes are created after the inserts (faster, and denser pages).
constexpr const char* kIndexes = R"sql(
CREATE INDEX blocks_by_time ON blocks(max_ts, min_ts);
CREATE INDEX blocks_by_stream ON blocks(stream, max_ts, min_ts);
)sql";

Status SqlError(sqlite3* db, const char* what) {
  return Status::IOError(std::string("sqlite ") + what + ": " + sqlite3_errmsg(db));
}

}  // namespace

struct SegmentWriterV1::Stmts {
  sqlite3_stmt* stream = nullptr;
  sqlite3_stmt* block = nullptr;
  sqlite3_stmt* group = nullptr;
  ~Stmts() {
    sqlite3_finalize(stream);
    sqlite3_finalize(block);
    sqlite3_finalize(group);
  }
};

SegmentWriterV1::SegmentWriterV1() { init_status_ = Init(); }

SegmentWriterV1::~SegmentWriterV1() {
  stmts_.reset();
  if (db_) sqlite3_close(db_);
}

Status SegmentWriterV1::Init() {
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

void SegmentWriterV1::EnableFilters(size_t group_lines) {
  filters_ = true;
  group_lines_ = group_lines;
  if (group_lines_ == 0 || !init_status_.ok()) return;
  if (sqlite3_exec(db_, kBlockFiltersTable, nullptr, nullptr, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_,
                         "INSERT INTO block_filters(first_block, last_block, min_ts, max_ts, n, trigrams) "
                         "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                         -1, &stmts_->group, nullptr) != SQLITE_OK) {
    init_status_ = SqlError(db_, "block_filters");
  }
}

Status SegmentWriterV1::AddFilterKeys(const Entry* const* p, const Entry* const* q, int64_t min_ts, int64_t max_ts,
                                    int64_t block_id) {
  // Tokens only have file-level keys; trigrams go through the open group
  // when there are groups.
  std::vector<uint64_t>* tokens = &seg_tokens_;
  std::vector<uint64_t>* trigrams = group_lines_ ? &group_trigrams_ : &seg_trigrams_;
  for (const Entry* const* e = p; e < q; ++e) {
    AddLineTokens((*e)->line, tokens);
    AddLineTrigrams((*e)->line, trigrams);
  }
  if (tokens->size() >= kDedupeKeys) SortUnique(tokens);
  if (trigrams->size() >= kDedupeKeys) SortUnique(trigrams);
  if (group_lines_ == 0) return Status::OK();
  if (group_first_ == 0) {
    group_first_ = block_id;
    group_min_ts_ = min_ts;
    group_max_ts_ = max_ts;
  }
  group_last_ = block_id;
  group_min_ts_ = std::min(group_min_ts_, min_ts);
  group_max_ts_ = std::max(group_max_ts_, max_ts);
  group_rows_ += static_cast<uint64_t>(q - p);
  if (group_rows_ >= group_lines_) return CloseGroup();
  return Status::OK();
}

Status SegmentWriterV1::CloseGroup() {
  if (group_first_ == 0) return Status::OK();
  SortUnique(&group_trigrams_);
  MergeKeys(group_trigrams_, &seg_trigrams_);
  // Kept until Finish at its exact size: the open vector's capacity is that
  // of every trigram of the group's lines, several times the distinct ones.
  groups_.push_back(PendingGroup{group_first_, group_last_, group_min_ts_, group_max_ts_, group_rows_,
                                 std::vector<uint64_t>(group_trigrams_.begin(), group_trigrams_.end())});
  group_trigrams_.clear();
  group_first_ = 0;
  group_rows_ = 0;
  return Status::OK();
}

// Writes block_filters: each group's rare trigrams, and the file's common
// ones into meta group_common_trigrams.
Status SegmentWriterV1::WriteGroups() {
  if (groups_.empty()) return Status::OK();
  // How many groups hold each trigram: a k-way merge of the groups' sorted,
  // unique keys, so no second copy of them is made.
  const size_t max_groups = std::max<size_t>(1, groups_.size() / kCommonGroupShareDenominator);
  std::vector<uint64_t> common;
  using Head = std::pair<uint64_t, size_t>;  // (key, group), smallest key on top
  std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heads;
  std::vector<size_t> next(groups_.size(), 0);
  for (size_t i = 0; i < groups_.size(); i++) {
    if (!groups_[i].trigrams.empty()) heads.emplace(groups_[i].trigrams[0], i);
  }
  while (!heads.empty()) {
    const uint64_t key = heads.top().first;
    size_t holders = 0;
    while (!heads.empty() && heads.top().first == key) {
      size_t i = heads.top().second;
      heads.pop();
      holders++;
      if (++next[i] < groups_[i].trigrams.size()) heads.emplace(groups_[i].trigrams[next[i]], i);
    }
    if (holders > max_groups) common.push_back(key);
  }
  for (auto& g : groups_) {
    std::vector<uint64_t> rare;
    rare.reserve(g.trigrams.size());
    std::set_difference(g.trigrams.begin(), g.trigrams.end(), common.begin(), common.end(),
                        std::back_inserter(rare));
    g.trigrams = {};
    LOGE_ASSIGN_OR_RETURN(std::string trigrams, BuildFilter(&rare));
    sqlite3_stmt* st = stmts_->group;
    sqlite3_bind_int64(st, 1, g.first);
    sqlite3_bind_int64(st, 2, g.last);
    sqlite3_bind_int64(st, 3, g.min_ts);
    sqlite3_bind_int64(st, 4, g.max_ts);
    sqlite3_bind_int64(st, 5, static_cast<int64_t>(g.n));
    sqlite3_bind_blob(st, 6, trigrams.data(), static_cast<int>(trigrams.size()), SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return SqlError(db_, "insert block_filters");
    groups_written_++;
  }
  groups_.clear();
  LOGE_ASSIGN_OR_RETURN(std::string common_filter, BuildFilter(&common));
  SetMetaBlob("group_common_trigrams", std::move(common_filter));
  return Status::OK();
}

Status SegmentWriterV1::AddStream(const Labels& labels, const std::vector<Entry>& entries) {
  std::vector<const Entry*> ptrs;
  ptrs.reserve(entries.size());
  for (const auto& e : entries) ptrs.push_back(&e);
  return AddStream(labels, ptrs);
}

Status SegmentWriterV1::AddStream(const Labels& labels, const std::vector<const Entry*>& entries) {
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
    if (filters_) LOGE_RETURN_IF_ERROR(AddFilterKeys(p, q, b.min_ts, b.max_ts, sqlite3_last_insert_rowid(db_)));
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

Result<std::string> SegmentWriterV1::Finish(SegmentInfo* info) {
  LOGE_RETURN_IF_ERROR(init_status_);
  if (filters_) {
    LOGE_RETURN_IF_ERROR(CloseGroup());
    LOGE_RETURN_IF_ERROR(WriteGroups());
    LOGE_ASSIGN_OR_RETURN(info_.token_filter, BuildFilter(&seg_tokens_));
    LOGE_ASSIGN_OR_RETURN(info_.trigram_filter, BuildFilter(&seg_trigrams_));
    seg_tokens_.shrink_to_fit();
    seg_trigrams_.shrink_to_fit();
    SetMetaBlob("token_filter", info_.token_filter);
    SetMetaBlob("trigram_filter", info_.trigram_filter);
  }
  std::sort(keys_.begin(), keys_.end());
  keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
  info_.label_keys = keys_;
  JsonWriter kw;
  kw.BeginArray();
  for (const auto& k : keys_) kw.String(k);
  kw.EndArray();
  std::string keys_json = kw.Take();
  std::string meta_sql =
      "INSERT INTO meta(key, value) VALUES ('format_version', " + std::to_string(1) +
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
  // The database's pages go before the copy: at most two images exist at
  // once (the serialized one and the string), not three, and only the
  // string while the caller compresses it.
  stmts_.reset();
  sqlite3_close(db_);
  db_ = nullptr;
  init_status_ = Status::InvalidArgument("SegmentWriter: Finish was called");
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

}  // namespace loge::storage

namespace loge::storage {

Result<uint64_t> WriteV1File(io::FileSystem* fs, const std::string& path, std::string_view image) {
  std::string compressed;
  SeekableOptions so;
  LOGE_RETURN_IF_ERROR(CompressSeekable(image, so, &compressed));
  LOGE_RETURN_IF_ERROR(io::WriteFileAtomic(fs, path, compressed));
  return static_cast<uint64_t>(compressed.size());
}

}  // namespace loge::storage
