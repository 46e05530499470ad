// The catalog's delete_requests table (store/deletes.h owns what the rows
// mean). Each call is one SQLite transaction, so a request is either fully
// recorded (and survives a crash) or not at all.
#include <sqlite3.h>

#include "storage/catalog.h"
#include "storage/sqlite_util.h"

namespace loge::storage {

Result<std::vector<DeleteRequestRow>> Catalog::ListDeleteRequests() {
  MutexLock l(&mu_);
  Stmt st(db_,
          "SELECT id, query, start_ts, end_ts, created_at, processed, rows_deleted FROM delete_requests "
          "ORDER BY created_at, id");
  if (!st.ok()) return Status::IOError(path_ + ": list delete requests: " + sqlite3_errmsg(db_));
  std::vector<DeleteRequestRow> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    DeleteRequestRow r;
    r.id = std::string(ColumnView(st.get(), 0));
    r.query = std::string(ColumnView(st.get(), 1));
    r.start = sqlite3_column_int64(st.get(), 2);
    r.end = sqlite3_column_int64(st.get(), 3);
    r.created_at = sqlite3_column_int64(st.get(), 4);
    r.processed = sqlite3_column_int64(st.get(), 5) != 0;
    r.rows_deleted = static_cast<uint64_t>(sqlite3_column_int64(st.get(), 6));
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Status::IOError(path_ + ": list delete requests: " + sqlite3_errmsg(db_));
  return out;
}

Status Catalog::AddDeleteRequest(const DeleteRequestRow& r) {
  MutexLock l(&mu_);
  Stmt st(db_,
          "INSERT INTO delete_requests(id, query, start_ts, end_ts, created_at, processed, rows_deleted) "
          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  sqlite3_bind_text(st.get(), 1, r.id.data(), static_cast<int>(r.id.size()), SQLITE_STATIC);
  sqlite3_bind_text(st.get(), 2, r.query.data(), static_cast<int>(r.query.size()), SQLITE_STATIC);
  sqlite3_bind_int64(st.get(), 3, r.start);
  sqlite3_bind_int64(st.get(), 4, r.end);
  sqlite3_bind_int64(st.get(), 5, r.created_at);
  sqlite3_bind_int64(st.get(), 6, r.processed ? 1 : 0);
  sqlite3_bind_int64(st.get(), 7, static_cast<int64_t>(r.rows_deleted));
  if (sqlite3_step(st.get()) != SQLITE_DONE) {
    return Status::IOError(path_ + ": add delete request: " + sqlite3_errmsg(db_));
  }
  return Status::OK();
}

Status Catalog::CancelDeleteRequest(const std::string& id) {
  MutexLock l(&mu_);
  int64_t processed = -1;
  {
    Stmt st(db_, "SELECT processed FROM delete_requests WHERE id = ?1");
    sqlite3_bind_text(st.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_ROW) processed = sqlite3_column_int64(st.get(), 0);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      return Status::IOError(path_ + ": cancel delete request: " + sqlite3_errmsg(db_));
    }
  }
  if (processed < 0) return Status::NotFound("no delete request with request_id " + id);
  if (processed != 0) {
    return Status::InvalidArgument("delete request " + id + " is processed already: its rows are gone");
  }
  Stmt st(db_, "DELETE FROM delete_requests WHERE id = ?1 AND processed = 0");
  sqlite3_bind_text(st.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  if (sqlite3_step(st.get()) != SQLITE_DONE) {
    return Status::IOError(path_ + ": cancel delete request: " + sqlite3_errmsg(db_));
  }
  return Status::OK();
}

Status Catalog::MarkDeleteRequestsProcessed(const std::vector<std::pair<std::string, uint64_t>>& done) {
  MutexLock l(&mu_);
  LOGE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status result;
  {
    Stmt st(db_, "UPDATE delete_requests SET processed = 1, rows_deleted = ?2 WHERE id = ?1");
    for (const auto& [id, rows] : done) {
      sqlite3_bind_text(st.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_int64(st.get(), 2, static_cast<int64_t>(rows));
      if (sqlite3_step(st.get()) != SQLITE_DONE) {
        result = Status::IOError(path_ + ": mark delete request processed: " + sqlite3_errmsg(db_));
        break;
      }
      sqlite3_reset(st.get());
    }
  }
  if (result.ok()) result = Exec("COMMIT");
  if (!result.ok()) (void)Exec("ROLLBACK");
  return result;
}

}  // namespace loge::storage
