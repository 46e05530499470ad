// Catalog: catalog.sqlite in the output path, one row per queryable file
// (flush files and segments, local and remote). It is the single source of
// truth for what queries may read: a file exists for queries only once a
// catalog transaction names it.
//
// Thread-safety: every method is safe to call from many threads; writes are
// serialised by mu_ (SQLite work happens under it, so only the catalog's own
// callers wait: queries read FileSet, never the database).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"
#include "storage/filters.h"

struct sqlite3;

namespace loge::storage {

// Catalog state key of the next segment id (the <id> of segment names): the
// merger takes ids from it, the S3 reconcile raises it above ids it finds.
inline constexpr const char* kNextSegmentIdKey = "next_segment_id";

enum class Tier { kLocal = 0, kRemote = 1 };
enum class FileKind { kFlush = 0, kSegment = 1 };

struct CatalogEntry {
  int64_t id = 0;                  // assigned by Add/Replace
  FileKind kind = FileKind::kFlush;
  Tier tier = Tier::kLocal;
  std::string path;                // local: file name in the output path; remote: URL
  int64_t min_ts = 0;              // unix ns, inclusive
  int64_t max_ts = 0;
  uint64_t rows = 0;
  uint64_t bytes = 0;              // compressed file size
  std::vector<std::string> label_keys;  // sorted
  // False for remote rows adopted from a bucket listing alone (tier/reconcile.h):
  // their label keys, rows and filters are unknown, so the planner must not
  // prune them by label key (label_keys is empty, rows 0, filters empty).
  // Stored as a JSON null in the label_keys column.
  bool label_keys_known = true;
  std::string token_filter;        // serialized FuseFilter of whole tokens; empty = none
  std::string trigram_filter;      // serialized FuseFilter of byte trigrams; empty = none
  int64_t sealed_at = 0;           // unix ns when the file was registered
  // Flush files: highest WAL seq with a part inside. Segments merged since
  // this column was kept: the highest of their inputs' (every WAL seq up to
  // it was in a durable file when they were merged), else 0.
  uint64_t max_wal_seq = 0;
  int format = 1;                  // segment format version of the file
  int level = 0;                   // merge level: 0 = flush file, 1+ = merged (store/merge_policy.h)
  uint64_t line_bytes = 0;         // bytes of line text in the file (0 = unknown: format 1, adopted rows)
  std::string tenant;              // "" = the default tenant (room for X-Scope-OrgID; not used yet)
  // Format 2: the group and common filters. The catalog stores them only for
  // remote rows (a local file carries its own, read by the store at open);
  // null when the file has none or they are unknown (rows adopted from a
  // bucket listing).
  FileFiltersPtr filters;
  // A flush file written by this process: its blocks' id keys, which its
  // merge reuses (in memory only; null after a restart, and for segments).
  BlockIdKeysPtr block_id_keys;
};

// A delete request (POST /loki/api/v1/delete, store/deletes.h), as kept in
// the catalog's delete_requests table so it survives restarts.
struct DeleteRequestRow {
  std::string id;          // request_id: unique, chosen by the store
  std::string query;       // stream selector with optional line filters
  int64_t start = 0;       // unix ns, inclusive
  int64_t end = 0;         // unix ns, inclusive
  int64_t created_at = 0;  // unix ns
  bool processed = false;  // the rows are gone from every file ("processed")
  uint64_t rows_deleted = 0;  // rows the rewrites removed for it (once processed)
};

class Catalog {
 public:
  // Opens or creates <dir>/catalog.sqlite (WAL journal mode, synchronous=FULL).
  static Result<std::unique_ptr<Catalog>> Open(const std::string& dir);
  // Opens an existing <dir>/catalog.sqlite for reading only (`loge check`):
  // no schema, migration or journal change. NotFound when it is missing;
  // writes through it fail.
  static Result<std::unique_ptr<Catalog>> OpenReadOnly(const std::string& dir);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // Every row, ordered by id.
  Result<std::vector<CatalogEntry>> List() EXCLUDES(mu_);
  // Inserts e and sets e->id. Durable on return. Idempotent per path: when a
  // row with e->path exists already (an earlier Add whose commit reported an
  // error but landed), e->id is set to that row's id and nothing is added.
  Status Add(CatalogEntry* e) EXCLUDES(mu_);
  // In one transaction: removes the rows `remove_ids` and adds `add` (sets
  // add->id). Either all of it is durable on return or none of it is.
  Status Replace(const std::vector<int64_t>& remove_ids, CatalogEntry* add) EXCLUDES(mu_);
  // Like Replace, with any number of rows added (sets each id); one transaction.
  Status ReplaceMany(const std::vector<int64_t>& remove_ids, std::vector<CatalogEntry>* add) EXCLUDES(mu_);
  // A merge's commit: in one transaction, removes the input rows, records
  // their file names as retired (files whose rows now live in `add`, to be
  // deleted) and adds `add`. After a crash, recovery deletes any retired file
  // still on disk, so an input is never read as a second copy of its rows.
  // `retired_objects`: the URLs of remote inputs (a rewrite of a remote
  // segment, store/merger.h), recorded in the same transaction so that the
  // reconcile deletes their objects instead of adopting them again
  // (tier/reconcile.h).
  Status ReplaceRetiring(const std::vector<int64_t>& remove_ids, const std::vector<std::string>& retired,
                         CatalogEntry* add, const std::vector<std::string>& retired_objects = {}) EXCLUDES(mu_);
  // The id of the row whose path is `path`; 0 when there is none.
  Result<int64_t> IdOf(const std::string& path) EXCLUDES(mu_);
  // SQLite's `PRAGMA quick_check` and a read of every row: OK when the
  // catalog is readable; Corruption when SQLite finds its bytes bad (also
  // what Open returns for a file that is not a database); IOError otherwise.
  Status Check() EXCLUDES(mu_);
  // File names retired by merges and not yet forgotten.
  Result<std::vector<std::string>> ListRetired() EXCLUDES(mu_);
  // Forgets retired names (their files are gone).
  Status ForgetRetired(const std::vector<std::string>& names) EXCLUDES(mu_);
  // Object URLs retired by rewrites of remote segments whose objects may
  // still be in the bucket (catalog_retired_objects.cc): the reconcile
  // deletes such an object and never adopts it.
  Result<std::vector<std::string>> ListRetiredObjects() EXCLUDES(mu_);
  // Forgets retired object URLs (their objects are gone).
  Status ForgetRetiredObjects(const std::vector<std::string>& urls) EXCLUDES(mu_);
  // Removes rows (reconcile: files that are gone).
  Status Remove(const std::vector<int64_t>& ids) EXCLUDES(mu_);
  // Rotation (tier/uploader.h): in one transaction, turns the local row `id`
  // into a remote one named by `url` (tier = kRemote, path = url) and stores
  // the file's filters with it (null: none); every other column is kept.
  // NotFound when there is no local row `id` (already remote, or gone); the
  // row is then unchanged.
  Status SetRemote(int64_t id, const std::string& url, const FileFiltersPtr& filters = nullptr) EXCLUDES(mu_);
  // Checkpoints the catalog's SQLite journal into the database and
  // truncates it (catalog.sqlite-wal), so an idle store keeps no journal
  // bytes. A failure only leaves the journal for the next call.
  Status TruncateJournal() EXCLUDES(mu_);
  // Key-value state that must survive restarts (e.g. the WAL watermark).
  Status SetState(const std::string& key, int64_t value) EXCLUDES(mu_);
  Result<int64_t> GetState(const std::string& key, int64_t fallback) EXCLUDES(mu_);

  // Delete requests (catalog_deletes.cc): every row, oldest first.
  Result<std::vector<DeleteRequestRow>> ListDeleteRequests() EXCLUDES(mu_);
  // Adds r (its id must be new) in one transaction.
  Status AddDeleteRequest(const DeleteRequestRow& r) EXCLUDES(mu_);
  // Removes a request that is not processed. NotFound when there is no
  // such request; InvalidArgument when it is processed already.
  Status CancelDeleteRequest(const std::string& id) EXCLUDES(mu_);
  // Marks the requests processed, with the rows deleted for each, in one
  // transaction.
  Status MarkDeleteRequestsProcessed(const std::vector<std::pair<std::string, uint64_t>>& done) EXCLUDES(mu_);

 private:
  Catalog() = default;
  Result<int64_t> NextIdLocked() REQUIRES(mu_);  // an id no row of this process had
  Status InsertLocked(CatalogEntry* e) REQUIRES(mu_);
  Status MigrateLocked() REQUIRES(mu_);
  Status Exec(const char* sql) REQUIRES(mu_);
  Mutex mu_;
  sqlite3* db_ GUARDED_BY(mu_) = nullptr;
  int64_t next_id_ GUARDED_BY(mu_) = 0;  // 0 until the first insert reads MAX(id)
  std::string path_;
};

}  // namespace loge::storage
