// The catalog's retired_objects table: URLs of remote segments a rewrite
// replaced (store/merger.h) whose objects may still be in the bucket. The
// URL is recorded in the transaction that swaps the remote row for the
// rewritten one (Catalog::ReplaceRetiring) and forgotten once the object
// is gone, so a crash in between never lets the reconcile adopt it again.
#include <sqlite3.h>

#include "storage/catalog.h"
#include "storage/sqlite_util.h"

namespace loge::storage {

Result<std::vector<std::string>> Catalog::ListRetiredObjects() {
  MutexLock l(&mu_);
  Stmt st(db_, "SELECT url FROM retired_objects");
  if (!st.ok()) return Status::IOError(path_ + ": list retired objects: " + sqlite3_errmsg(db_));
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) out.emplace_back(ColumnView(st.get(), 0));
  if (rc != SQLITE_DONE) return Status::IOError(path_ + ": list retired objects: " + sqlite3_errmsg(db_));
  return out;
}

Status Catalog::ForgetRetiredObjects(const std::vector<std::string>& urls) {
  MutexLock l(&mu_);
  Stmt st(db_, "DELETE FROM retired_objects WHERE url = ?1");
  for (const auto& u : urls) {
    sqlite3_bind_text(st.get(), 1, u.data(), static_cast<int>(u.size()), SQLITE_STATIC);
    if (sqlite3_step(st.get()) != SQLITE_DONE) {
      return Status::IOError(path_ + ": forget retired object: " + sqlite3_errmsg(db_));
    }
    sqlite3_reset(st.get());
  }
  return Status::OK();
}

}  // namespace loge::storage
