// The filter frame: where a format-3 file keeps its content filters
// (docs/format-segment.md, "Filter frame"). The filters blob
// (FileFilters::Serialize) is stored as it is in a zstd skippable frame
// after the data frames, so that
//   - `zstd -d` skips it and gives back the SQLite image alone;
//   - its bytes lie in the file uncompressed, and a local file's filters are
//     mapped read-only (io::FileSystem::MapReadOnly) instead of copied onto
//     the heap: what a query probes is paged in by the kernel, and what it
//     does not probe costs no memory. Before, every file's filters (or its
//     summary) were held in memory, ~1.4 bytes per stored line (docs/memory.md).
//
// Payload: crc32c of the blob (4 bytes, little endian) + the blob.
//
// Thread-safety: pure functions over their arguments.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "storage/filters.h"

namespace loge::io {
class FileSystem;
}

namespace loge::storage {

class SeekableReader;
class SeekableWriter;

// The skippable frame magic of the filter frame (the seek table's is 0x184D2A5E).
inline constexpr uint32_t kFilterFrameMagic = 0x184D2A51;

// Appends the filter frame of `blob` (FileFilters::Serialize).
Status AddFilterFrame(SeekableWriter* w, std::string_view blob);

// The filters of a frame this process has just written at file offset
// `frame_at` of `path` (its blob still at hand, so nothing is read back):
// the blob's filters, pointing into the frame mapped. On the heap (in
// `blob`) where fs cannot map.
Result<FileFiltersPtr> MapWrittenFilterFrame(io::FileSystem* fs, const std::string& path, uint64_t frame_at,
                                             std::shared_ptr<const std::string> blob);

// The filters in r's filter frame, copied onto the heap (a remote file, or
// a file system that cannot map). Null when the file has none; Corruption
// when its checksum or its blob is bad.
Result<FileFiltersPtr> ReadFilterFrame(const SeekableReader& r);

// The filters of the local file `path` (a format-3 file), mapped; read onto
// the heap where fs cannot map (or the map fails: never an error of its own). The blob is read once to check it (a pread,
// not through the mapping, so no mapped page is touched until a query
// probes it). Null when the file has no filter frame.
Result<FileFiltersPtr> LoadFilterFrame(io::FileSystem* fs, const std::string& path);

}  // namespace loge::storage
