// Every name loge gives a file or folder in its data directory, made and
// parsed here only (as LevelDB's filename.h), so the store's recovery can
// tell each file's role from its name alone.
//
//   catalog.sqlite (+ -wal, -shm)   the catalog (storage/catalog.h)
//   LOCK                            held while a process owns the directory
//   wal/                            the write-ahead log (wal/wal.h)
//   flush-<bucket>-<seq>.sqlite.zst           a flushed batch (level 0)
//   segment-<minTs>-<maxTs>-<id>.sqlite.zst   a merged file (level >= 1)
//   <name>.tmp                      a file being written; never read
//   <name>.scratch.tmp              a merge's uncompressed image; never read
//   <name>.fetch.tmp                a remote segment downloaded for a rewrite
//                                   (store/merger.h); read by that rewrite only
//   <name>.corrupt                  a file moved aside by recovery (older releases)
//   quarantine/<name>[.<n>]         a damaged file moved aside (store/quarantine.cc);
//                                   never read, kept for a human
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace loge::store {

inline constexpr const char* kCatalogName = "catalog.sqlite";
inline constexpr const char* kLockName = "LOCK";
inline constexpr const char* kWalDirName = "wal";
inline constexpr const char* kQuarantineDirName = "quarantine";

enum class FileType { kUnknown, kFlush, kSegment, kTemp, kCorrupt };

struct ParsedName {
  FileType type = FileType::kUnknown;
  uint64_t bucket = 0;  // flush files
  uint64_t seq = 0;     // flush files: the per-process file sequence
  int64_t min_ts = 0;   // segments
  int64_t max_ts = 0;
  uint64_t id = 0;      // segments
};

std::string FlushFileName(uint64_t bucket, uint64_t seq);
std::string SegmentFileName(int64_t min_ts, int64_t max_ts, uint64_t id);
// The temp name a file is written under before its rename.
std::string TempName(std::string_view name);
// Where a merge builds the uncompressed image of `name`.
std::string ScratchName(std::string_view name);
// Where a rewrite of the remote segment `name` (its object's file name)
// downloads it; a *.tmp name, so recovery deletes one a crash left.
std::string FetchName(std::string_view name);
std::string CorruptName(std::string_view name);
// The name `name` gets in quarantine/ when `taken` earlier copies of it are
// there already: name, then name.1, name.2, ...
std::string QuarantineName(std::string_view name, int taken);

ParsedName ParseFileName(std::string_view name);

}  // namespace loge::store
