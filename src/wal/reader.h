// Replay of one WAL file, with torn-tail handling (docs/format-wal.md).
//
// Thread-safety: a free function; call it on one file from one thread.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "wal/wal.h"

namespace loge::io {
class FileSystem;
}

namespace loge::wal {

struct FileReplay {
  uint64_t records = 0;        // intact records handed to fn
  uint64_t last_seq = 0;       // seq of the last intact record (0 if none)
  uint64_t dropped_bytes = 0;  // bytes from the first bad record to the end
  uint64_t size = 0;           // file size in bytes
};

// Reads the file at path record by record and calls fn for each intact one.
// The payload view passed to fn is valid only during the call.
//
// The first record that fails a check ends replay of this file; it and every
// byte after it are counted in out->dropped_bytes and the call still succeeds.
// The checks, in order:
//   1. a whole header fits before the end of the file;
//   2. length <= kMaxPayloadBytes and the payload fits before the end;
//   3. the crc matches;
//   4. seq > prev_seq (the last seq replayed from earlier files) and > the
//      previous record's seq, and seq >= name_seq (the seq in the file name).
//
// Returns a read error from the file system, or fn's first non-OK status.
Status ReplayFile(io::FileSystem* fs, const std::string& path, uint64_t name_seq,
                  uint64_t prev_seq, const ReplayFn& fn, FileReplay* out);

}  // namespace loge::wal
