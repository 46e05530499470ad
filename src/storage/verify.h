// VerifyDataFile: a full read of one data file (flush file or segment), the
// check `loge check` and the store's startup run on files whose damage would
// otherwise show only when a query touches the bad page.
//
//   1. the seek table parses (storage/seekable_zstd.h);
//   2. every frame decompresses to its stated length and matches its
//      checksum (when the table carries checksums);
//   3. SQLite's `PRAGMA integrity_check` passes on the decompressed image
//      (read through the zstd VFS, as queries read it).
//
// A failure is Corruption naming the file and, for 2, the frame and its
// compressed offset; IOError when the file cannot be read at all.
//
// Thread-safety: a free function; any number may run at once.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace loge::io {
class FileSystem;
}

namespace loge::storage {

struct VerifyReport {
  uint64_t frames = 0;             // frames read and checked
  uint64_t decompressed_bytes = 0;  // their decompressed size
};

Status VerifyDataFile(io::FileSystem* fs, const std::string& path, VerifyReport* out = nullptr);

}  // namespace loge::storage
