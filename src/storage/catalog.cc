#include "storage/catalog.h"

#include <simdjson.h>
#include <sqlite3.h>

#include <algorithm>

#include "core/json_writer.h"
#include "io/file_system.h"
#include "storage/sqlite_util.h"

namespace loge::storage {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS files(
  id INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL,        -- 0 flush, 1 segment
  tier INTEGER NOT NULL,        -- 0 local, 1 remote
  path TEXT NOT NULL UNIQUE,
  min_ts INTEGER NOT NULL,
  max_ts INTEGER NOT NULL,
  rows INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  label_keys TEXT NOT NULL,     -- JSON array
  token_filter BLOB,
  trigram_filter BLOB,
  sealed_at INTEGER NOT NULL,
  max_wal_seq INTEGER NOT NULL DEFAULT 0,
  format INTEGER NOT NULL DEFAULT 1,
  level INTEGER NOT NULL DEFAULT 0,
  line_bytes INTEGER NOT NULL DEFAULT 0,
  tenant TEXT NOT NULL DEFAULT '',
  filters BLOB);
CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS retired(name TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS retired_objects(url TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS delete_requests(
  id TEXT PRIMARY KEY,
  query TEXT NOT NULL,
  start_ts INTEGER NOT NULL,    -- unix ns, inclusive
  end_ts INTEGER NOT NULL,      -- unix ns, inclusive
  created_at INTEGER NOT NULL,  -- unix ns
  processed INTEGER NOT NULL DEFAULT 0,
  rows_deleted INTEGER NOT NULL DEFAULT 0);
)sql";

std::string KeysJson(const std::vector<std::string>& keys) {
  JsonWriter w;
  w.BeginArray();
  for (const auto& k : keys) w.String(k);
  w.EndArray();
  return w.Take();
}

std::vector<std::string> ParseKeys(std::string_view json) {
  std::vector<std::string> out;
  simdjson::dom::parser parser;
  simdjson::padded_string p(json);
  simdjson::dom::array arr;
  if (parser.parse(p).get_array().get(arr) != simdjson::SUCCESS) return out;
  for (auto el : arr) {
    std::string_view s;
    if (el.get_string().get(s) == simdjson::SUCCESS) out.emplace_back(s);
  }
  return out;
}

// Corruption when SQLite says the bytes are bad (the store then rebuilds
// the catalog from the files); IOError for everything else (a lock held by
// another process, permissions, a full disk), which must not trigger that.
Status CatalogError(sqlite3* db, const std::string& msg) {
  const int rc = sqlite3_errcode(db) & 0xff;
  if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) return Status::Corruption(msg);
  return Status::IOError(msg);
}

// label_keys of a row whose keys are unknown (CatalogEntry::label_keys_known).
constexpr std::string_view kUnknownKeys = "null";

}  // namespace

Result<std::unique_ptr<Catalog>> Catalog::Open(const std::string& dir) {
  std::unique_ptr<Catalog> c(new Catalog());
  c->path_ = io::JoinPath(dir, "catalog.sqlite");
  MutexLock l(&c->mu_);
  if (sqlite3_open_v2(c->path_.c_str(), &c->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return CatalogError(c->db_, "open " + c->path_ + ": " + sqlite3_errmsg(c->db_));
  }
  sqlite3_busy_timeout(c->db_, 5000);
  LOGE_RETURN_IF_ERROR(c->Exec("PRAGMA journal_mode=WAL"));
  LOGE_RETURN_IF_ERROR(c->Exec("PRAGMA synchronous=FULL"));
  LOGE_RETURN_IF_ERROR(c->Exec(kSchema));
  LOGE_RETURN_IF_ERROR(c->MigrateLocked());
  return c;
}

Result<std::unique_ptr<Catalog>> Catalog::OpenReadOnly(const std::string& dir) {
  std::unique_ptr<Catalog> c(new Catalog());
  c->path_ = io::JoinPath(dir, "catalog.sqlite");
  if (!io::DefaultFileSystem()->Exists(c->path_)) return Status::NotFound(c->path_ + ": no such file");
  MutexLock l(&c->mu_);
  if (sqlite3_open_v2(c->path_.c_str(), &c->db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    return Status::Corruption("open " + c->path_ + ": " + sqlite3_errmsg(c->db_));
  }
  sqlite3_busy_timeout(c->db_, 5000);
  return c;
}

Catalog::~Catalog() {
  MutexLock l(&mu_);
  if (db_) sqlite3_close(db_);
}

Status Catalog::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    return CatalogError(db_, path_ + ": " + m);
  }
  return Status::OK();
}

// Catalogs written before a column existed get it with its default, so
// their rows read as format-1, level-0, default-tenant files.
Status Catalog::MigrateLocked() {
  std::vector<std::string> have;
  {
    Stmt st(db_, "PRAGMA table_info(files)");
    if (!st.ok()) return Status::IOError(path_ + ": " + sqlite3_errmsg(db_));
    while (sqlite3_step(st.get()) == SQLITE_ROW) have.emplace_back(ColumnView(st.get(), 1));
  }
  const std::pair<const char*, const char*> added[] = {
      {"format", "ALTER TABLE files ADD COLUMN format INTEGER NOT NULL DEFAULT 1"},
      {"level", "ALTER TABLE files ADD COLUMN level INTEGER NOT NULL DEFAULT 0"},
      {"line_bytes", "ALTER TABLE files ADD COLUMN line_bytes INTEGER NOT NULL DEFAULT 0"},
      {"tenant", "ALTER TABLE files ADD COLUMN tenant TEXT NOT NULL DEFAULT ''"},
      {"filters", "ALTER TABLE files ADD COLUMN filters BLOB"},
  };
  for (const auto& [name, sql] : added) {
    if (std::find(have.begin(), have.end(), name) == have.end()) LOGE_RETURN_IF_ERROR(Exec(sql));
  }
  return Status::OK();
}

Result<std::vector<CatalogEntry>> Catalog::List() {
  MutexLock l(&mu_);
  Stmt st(db_,
          "SELECT id, kind, tier, path, min_ts, max_ts, rows, bytes, label_keys, token_filter, trigram_filter, "
          "sealed_at, max_wal_seq, format, level, line_bytes, tenant, filters FROM files ORDER BY id");
  if (!st.ok()) return CatalogError(db_, path_ + ": " + sqlite3_errmsg(db_));
  std::vector<CatalogEntry> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    CatalogEntry e;
    e.id = sqlite3_column_int64(st.get(), 0);
    e.kind = static_cast<FileKind>(sqlite3_column_int(st.get(), 1));
    e.tier = static_cast<Tier>(sqlite3_column_int(st.get(), 2));
    e.path = std::string(ColumnView(st.get(), 3));
    e.min_ts = sqlite3_column_int64(st.get(), 4);
    e.max_ts = sqlite3_column_int64(st.get(), 5);
    e.rows = sqlite3_column_int64(st.get(), 6);
    e.bytes = sqlite3_column_int64(st.get(), 7);
    std::string_view keys = ColumnView(st.get(), 8);
    e.label_keys_known = keys != kUnknownKeys;
    e.label_keys = ParseKeys(keys);
    e.token_filter = std::string(ColumnView(st.get(), 9));
    e.trigram_filter = std::string(ColumnView(st.get(), 10));
    e.sealed_at = sqlite3_column_int64(st.get(), 11);
    e.max_wal_seq = static_cast<uint64_t>(sqlite3_column_int64(st.get(), 12));
    e.format = sqlite3_column_int(st.get(), 13);
    e.level = sqlite3_column_int(st.get(), 14);
    e.line_bytes = static_cast<uint64_t>(sqlite3_column_int64(st.get(), 15));
    e.tenant = std::string(ColumnView(st.get(), 16));
    if (std::string_view blob = ColumnView(st.get(), 17); !blob.empty()) {
      // A blob that does not parse leaves the row without filters: the file
      // is then scanned, never wrongly pruned.
      if (auto f = FileFilters::Deserialize(blob); f.ok()) e.filters = std::make_shared<const FileFilters>(std::move(*f));
    }
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return CatalogError(db_, path_ + ": " + sqlite3_errmsg(db_));
  return out;
}

// Ids are never given twice in a process: SQLite would reuse the highest
// rowid once its row is deleted, and the store names files by id in memory
// (FileSet::Replace, claims) — a merge that deleted the newest row and a
// flush that then got its id made the merge drop the flush file's handle,
// which unlinked a cataloged file (the crash campaign found it).
Result<int64_t> Catalog::NextIdLocked() {
  if (next_id_ == 0) {
    Stmt st(db_, "SELECT COALESCE(MAX(id), 0) + 1 FROM files");
    if (!st.ok() || sqlite3_step(st.get()) != SQLITE_ROW) return Status::IOError(path_ + ": " + sqlite3_errmsg(db_));
    next_id_ = sqlite3_column_int64(st.get(), 0);
  }
  return next_id_++;
}

Status Catalog::InsertLocked(CatalogEntry* e) {
  LOGE_ASSIGN_OR_RETURN(const int64_t id, NextIdLocked());
  Stmt st(db_,
          "INSERT INTO files(kind, tier, path, min_ts, max_ts, rows, bytes, label_keys, token_filter, "
          "trigram_filter, sealed_at, max_wal_seq, format, level, line_bytes, tenant, filters, id) "
          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)");
  if (!st.ok()) return Status::IOError(path_ + ": " + sqlite3_errmsg(db_));
  std::string keys = e->label_keys_known ? KeysJson(e->label_keys) : std::string(kUnknownKeys);
  sqlite3_stmt* s = st.get();
  sqlite3_bind_int(s, 1, static_cast<int>(e->kind));
  sqlite3_bind_int(s, 2, static_cast<int>(e->tier));
  sqlite3_bind_text(s, 3, e->path.data(), static_cast<int>(e->path.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, e->min_ts);
  sqlite3_bind_int64(s, 5, e->max_ts);
  sqlite3_bind_int64(s, 6, static_cast<int64_t>(e->rows));
  sqlite3_bind_int64(s, 7, static_cast<int64_t>(e->bytes));
  sqlite3_bind_text(s, 8, keys.data(), static_cast<int>(keys.size()), SQLITE_STATIC);
  if (e->token_filter.empty()) sqlite3_bind_null(s, 9);
  else sqlite3_bind_blob(s, 9, e->token_filter.data(), static_cast<int>(e->token_filter.size()), SQLITE_STATIC);
  if (e->trigram_filter.empty()) sqlite3_bind_null(s, 10);
  else sqlite3_bind_blob(s, 10, e->trigram_filter.data(), static_cast<int>(e->trigram_filter.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 11, e->sealed_at);
  sqlite3_bind_int64(s, 12, static_cast<int64_t>(e->max_wal_seq));
  sqlite3_bind_int(s, 13, e->format);
  sqlite3_bind_int(s, 14, e->level);
  sqlite3_bind_int64(s, 15, static_cast<int64_t>(e->line_bytes));
  sqlite3_bind_text(s, 16, e->tenant.data(), static_cast<int>(e->tenant.size()), SQLITE_STATIC);
  std::string filters;
  if (e->tier == Tier::kRemote && e->filters) filters = e->filters->Serialize();
  if (filters.empty()) sqlite3_bind_null(s, 17);
  else sqlite3_bind_blob(s, 17, filters.data(), static_cast<int>(filters.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 18, id);
  if (sqlite3_step(s) != SQLITE_DONE) return Status::IOError(path_ + ": insert " + e->path + ": " + sqlite3_errmsg(db_));
  e->id = id;
  return Status::OK();
}

Status Catalog::Add(CatalogEntry* e) {
  MutexLock l(&mu_);
  {
    Stmt st(db_, "SELECT id FROM files WHERE path = ?1");
    if (!st.ok()) return Status::IOError(path_ + ": " + sqlite3_errmsg(db_));
    sqlite3_bind_text(st.get(), 1, e->path.data(), static_cast<int>(e->path.size()), SQLITE_STATIC);
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_ROW) {
      e->id = sqlite3_column_int64(st.get(), 0);
      return Status::OK();
    }
    if (rc != SQLITE_DONE) return Status::IOError(path_ + ": look up " + e->path + ": " + sqlite3_errmsg(db_));
  }
  return InsertLocked(e);
}

Result<int64_t> Catalog::IdOf(const std::string& path) {
  MutexLock l(&mu_);
  Stmt st(db_, "SELECT id FROM files WHERE path = ?1");
  if (!st.ok()) return Status::IOError(path_ + ": " + sqlite3_errmsg(db_));
  sqlite3_bind_text(st.get(), 1, path.data(), static_cast<int>(path.size()), SQLITE_STATIC);
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_ROW) return static_cast<int64_t>(sqlite3_column_int64(st.get(), 0));
  if (rc == SQLITE_DONE) return int64_t{0};
  return Status::IOError(path_ + ": look up " + path + ": " + sqlite3_errmsg(db_));
}

Status Catalog::Check() {
  {
    MutexLock l(&mu_);
    Stmt st(db_, "PRAGMA quick_check(5)");
    if (!st.ok()) return CatalogError(db_, path_ + ": quick_check: " + sqlite3_errmsg(db_));
    std::string findings;
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      std::string_view line = ColumnView(st.get(), 0);
      if (line != "ok") findings += (findings.empty() ? "" : "; ") + std::string(line);
    }
    if (rc != SQLITE_DONE) return CatalogError(db_, path_ + ": quick_check: " + sqlite3_errmsg(db_));
    if (!findings.empty()) return Status::Corruption(path_ + ": quick_check: " + findings);
  }
  LOGE_RETURN_IF_ERROR(List().status());
  return ListRetired().status();
}

Status Catalog::Replace(const std::vector<int64_t>& remove_ids, CatalogEntry* add) {
  std::vector<CatalogEntry> adds;
  if (add) adds.push_back(std::move(*add));
  Status st = ReplaceMany(remove_ids, &adds);
  if (add) *add = std::move(adds[0]);
  return st;
}

Status Catalog::ReplaceMany(const std::vector<int64_t>& remove_ids, std::vector<CatalogEntry>* add) {
  MutexLock l(&mu_);
  LOGE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status st;
  {
    Stmt del(db_, "DELETE FROM files WHERE id = ?1");
    for (int64_t id : remove_ids) {
      sqlite3_bind_int64(del.get(), 1, id);
      if (sqlite3_step(del.get()) != SQLITE_DONE) {
        st = Status::IOError(path_ + ": delete: " + sqlite3_errmsg(db_));
        break;
      }
      sqlite3_reset(del.get());
    }
  }
  for (size_t i = 0; st.ok() && add && i < add->size(); i++) st = InsertLocked(&(*add)[i]);
  if (st.ok()) st = Exec("COMMIT");
  if (!st.ok()) (void)Exec("ROLLBACK");
  return st;
}

Status Catalog::Remove(const std::vector<int64_t>& ids) { return ReplaceMany(ids, nullptr); }

Status Catalog::ReplaceRetiring(const std::vector<int64_t>& remove_ids, const std::vector<std::string>& retired,
                                CatalogEntry* add, const std::vector<std::string>& retired_objects) {
  MutexLock l(&mu_);
  LOGE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status st;
  {
    Stmt del(db_, "DELETE FROM files WHERE id = ?1");
    for (int64_t id : remove_ids) {
      sqlite3_bind_int64(del.get(), 1, id);
      if (sqlite3_step(del.get()) != SQLITE_DONE) {
        st = Status::IOError(path_ + ": delete: " + sqlite3_errmsg(db_));
        break;
      }
      sqlite3_reset(del.get());
    }
  }
  if (st.ok()) {
    Stmt ins(db_, "INSERT OR IGNORE INTO retired(name) VALUES(?1)");
    for (const auto& n : retired) {
      sqlite3_bind_text(ins.get(), 1, n.data(), static_cast<int>(n.size()), SQLITE_STATIC);
      if (sqlite3_step(ins.get()) != SQLITE_DONE) {
        st = Status::IOError(path_ + ": retire: " + sqlite3_errmsg(db_));
        break;
      }
      sqlite3_reset(ins.get());
    }
  }
  if (st.ok()) {
    Stmt ins(db_, "INSERT OR IGNORE INTO retired_objects(url) VALUES(?1)");
    for (const auto& u : retired_objects) {
      sqlite3_bind_text(ins.get(), 1, u.data(), static_cast<int>(u.size()), SQLITE_STATIC);
      if (sqlite3_step(ins.get()) != SQLITE_DONE) {
        st = Status::IOError(path_ + ": retire object: " + sqlite3_errmsg(db_));
        break;
      }
      sqlite3_reset(ins.get());
    }
  }
  if (st.ok() && add) st = InsertLocked(add);
  if (st.ok()) st = Exec("COMMIT");
  if (!st.ok()) (void)Exec("ROLLBACK");
  return st;
}

Result<std::vector<std::string>> Catalog::ListRetired() {
  MutexLock l(&mu_);
  Stmt st(db_, "SELECT name FROM retired");
  if (!st.ok()) return CatalogError(db_, path_ + ": " + sqlite3_errmsg(db_));
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) out.emplace_back(ColumnView(st.get(), 0));
  if (rc != SQLITE_DONE) return CatalogError(db_, path_ + ": " + sqlite3_errmsg(db_));
  return out;
}

Status Catalog::ForgetRetired(const std::vector<std::string>& names) {
  MutexLock l(&mu_);
  Stmt st(db_, "DELETE FROM retired WHERE name = ?1");
  for (const auto& n : names) {
    sqlite3_bind_text(st.get(), 1, n.data(), static_cast<int>(n.size()), SQLITE_STATIC);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return Status::IOError(path_ + ": forget: " + sqlite3_errmsg(db_));
    sqlite3_reset(st.get());
  }
  return Status::OK();
}

Status Catalog::SetRemote(int64_t id, const std::string& url, const FileFiltersPtr& filters) {
  MutexLock l(&mu_);
  Stmt st(db_, "UPDATE files SET tier = ?1, path = ?2, filters = ?5 WHERE id = ?3 AND tier = ?4");
  if (!st.ok()) return Status::IOError(path_ + ": " + sqlite3_errmsg(db_));
  sqlite3_bind_int(st.get(), 1, static_cast<int>(Tier::kRemote));
  sqlite3_bind_text(st.get(), 2, url.data(), static_cast<int>(url.size()), SQLITE_STATIC);
  sqlite3_bind_int64(st.get(), 3, id);
  sqlite3_bind_int(st.get(), 4, static_cast<int>(Tier::kLocal));
  const std::string blob = filters ? filters->Serialize() : std::string();
  if (blob.empty()) sqlite3_bind_null(st.get(), 5);
  else sqlite3_bind_blob(st.get(), 5, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
  if (sqlite3_step(st.get()) != SQLITE_DONE) {
    return Status::IOError(path_ + ": set remote " + url + ": " + sqlite3_errmsg(db_));
  }
  if (sqlite3_changes(db_) != 1) return Status::NotFound("catalog: no local row " + std::to_string(id));
  return Status::OK();
}

Status Catalog::TruncateJournal() {
  MutexLock l(&mu_);
  return Exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

Status Catalog::SetState(const std::string& key, int64_t value) {
  MutexLock l(&mu_);
  Stmt st(db_, "INSERT INTO state(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2");
  sqlite3_bind_text(st.get(), 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  sqlite3_bind_int64(st.get(), 2, value);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return Status::IOError(path_ + ": set state: " + sqlite3_errmsg(db_));
  return Status::OK();
}

Result<int64_t> Catalog::GetState(const std::string& key, int64_t fallback) {
  MutexLock l(&mu_);
  Stmt st(db_, "SELECT value FROM state WHERE key = ?1");
  sqlite3_bind_text(st.get(), 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  int rc = sqlite3_step(st.get());
  if (rc == SQLITE_ROW) return static_cast<int64_t>(sqlite3_column_int64(st.get(), 0));
  if (rc == SQLITE_DONE) return fallback;
  return CatalogError(db_, path_ + ": get state: " + sqlite3_errmsg(db_));
}

}  // namespace loge::storage
