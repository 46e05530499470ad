// Replay of one WAL file, with torn-tail handling (docs/format-wal.md).
//
// Thread-safety: a free function; call it on one file from one thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "wal/wal.h"

namespace loge::io {
class FileSystem;
}

namespace loge::wal {

struct FileReplay {
  uint64_t records = 0;        // intact records handed to fn
  uint64_t last_seq = 0;       // seq of the last intact record (0 if none)
  uint64_t dropped_bytes = 0;  // bytes of a torn tail (from its start to the end of the file)
  uint64_t size = 0;           // file size in bytes
  std::vector<Damage> damage;  // damaged regions skipped, in file order
};

// Reads the file at path record by record and calls fn for each intact one.
// The payload view passed to fn is valid only during the call.
//
// A record fails when, in order:
//   1. a whole header does not fit before the end of the file;
//   2. length > kMaxPayloadBytes, or the payload runs past the end;
//   3. the crc does not match;
//   4. seq <= prev_seq (the last seq replayed from earlier files) or <= the
//      previous record's seq, or seq < name_seq (the seq in the file name).
// Then replay looks for the next intact record after it (Resync in
// reader.cc): an offset whose header passes 1-4, whose seq lies within the
// few that the skipped bytes can have held (seqs within a file are
// consecutive), and whose crc matches. If there is one, the bytes up to it
// are a damaged region (out->damage) and replay goes on from there. If
// there is none, the rest of the file is a torn tail (out->dropped_bytes) —
// unless the failing record is whole and carries the next seq with a bad
// crc: then it was damaged, not torn, and counts as damage too. Neither
// fails the call.
//
// Returns a read error from the file system, or fn's first non-OK status.
Status ReplayFile(io::FileSystem* fs, const std::string& path, uint64_t name_seq,
                  uint64_t prev_seq, const ReplayFn& fn, FileReplay* out);

}  // namespace loge::wal
