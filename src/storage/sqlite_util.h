// Small helpers shared by the SQLite users in storage/ (catalog, reader).
//
// Thread-safety: a Stmt belongs to one connection and one thread.
#pragma once

#include <sqlite3.h>

#include <string_view>

namespace loge::storage {

// Column i of the current row as bytes (TEXT or BLOB); empty for NULL.
inline std::string_view ColumnView(sqlite3_stmt* st, int i) {
  const void* p = sqlite3_column_blob(st, i);
  int n = sqlite3_column_bytes(st, i);
  if (!p || n <= 0) return {};
  return {static_cast<const char*>(p), static_cast<size_t>(n)};
}

// A prepared statement finalized when it goes out of scope.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr); }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return st_; }

 private:
  sqlite3_stmt* st_ = nullptr;
  int rc_;
};

}  // namespace loge::storage
