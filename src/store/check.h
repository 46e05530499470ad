// CheckDirectory: `loge check` — verifies a data directory without changing
// it: every data file (seekable-zstd frames and their checksums, SQLite's
// integrity_check of the image), the catalog (integrity, rows against the
// files present) and the WAL (every record's framing and checksum).
//
// It refuses a directory a running loge owns (its LOCK is held) rather than
// read files that are being written, merged and deleted under it; while it
// runs it holds the LOCK itself, so no server starts on the directory.
//
// Thread-safety: a free function; one call per directory at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace loge::store {

struct CheckReport {
  uint64_t data_files = 0;      // flush files and segments verified
  uint64_t damaged_files = 0;   // of those, failing a check
  uint64_t catalog_rows = 0;    // rows in catalog.sqlite (local and remote)
  uint64_t missing_files = 0;   // local rows whose file is not there
  uint64_t uncataloged = 0;     // data files no row names (the next start adopts or deletes them)
  uint64_t wal_files = 0;
  uint64_t wal_records = 0;     // intact WAL records
  uint64_t wal_damaged_bytes = 0;  // bytes after a bad record in a WAL file other than the newest
  uint64_t wal_torn_bytes = 0;     // bytes after a bad record in the newest WAL file (a crash leaves that)
  std::vector<std::string> problems;  // one line each: damage that loge check exits 1 for
  bool clean() const { return problems.empty(); }
};

// Verifies dir and calls `print` with one human-readable line per finding
// as it goes. Unavailable when a running loge holds the LOCK; NotFound when
// dir does not exist. Damage is in the report, not the status.
Result<CheckReport> CheckDirectory(const std::string& dir, const std::function<void(const std::string&)>& print);

}  // namespace loge::store
