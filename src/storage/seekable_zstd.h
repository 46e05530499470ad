// The zstd seekable format (../shared/specs/seekable-zstd.md, version 0.1.0):
// independent zstd frames of a fixed decompressed size followed by a seek
// table, so a reader can decompress any byte range without the rest.
//
// Thread-safety: CompressSeekable is a pure function. A SeekableReader is
// immutable after Open and ReadFrame may be called from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace loge::io {
class RandomAccessFile;
class WritableFile;
}

namespace loge::storage {

// 64 KiB: a multiple of every SQLite page size, so a page never straddles
// two frames; see docs/format-segment.md for the measurement behind it.
inline constexpr size_t kDefaultFrameSize = 64 * 1024;

struct SeekableOptions {
  int level = 1;                         // zstd level (1 = fastest ... 19 = best)
  size_t frame_size = kDefaultFrameSize;  // decompressed bytes per frame
  bool checksums = true;                  // per-frame XXH64 low 32 bits in the table
  int threads = 1;                        // frames compressed in parallel (same output)
};

// Compresses data into the seekable format, appending to *out.
Status CompressSeekable(std::string_view data, const SeekableOptions& opts, std::string* out);

// Writes a seekable file frame by frame, appending each compressed frame to
// `out` as it comes and the seek table at Finish, so neither the input nor
// the output has to be held whole. Frames may differ in size (a reader
// maps offsets through the table). Not thread-safe; `out` must outlive it.
class SeekableWriter {
 public:
  SeekableWriter(io::WritableFile* out, int level, bool checksums = true);
  // Compresses one frame (1 byte .. 1 GiB of decompressed data).
  Status AddFrame(std::string_view data);
  // Appends a skippable frame (magic 0x184D2A50..0x184D2A5F, not the seek
  // table's) holding `payload` as it is: decoders skip it, and its table
  // entry decompresses to nothing, so the file's decompressed bytes are
  // those of the other frames.
  Status AddSkippableFrame(uint32_t magic, std::string_view payload);
  // Appends the seek table; the writer is spent afterwards.
  Status Finish();
  uint64_t frames() const { return frames_; }

 private:
  io::WritableFile* out_;
  const int level_;
  const bool checksums_;
  uint64_t frames_ = 0;
  std::string table_;    // seek table entries so far
  std::string scratch_;  // compressed frame buffer
};

// A parsed seek table: immutable, shared by every reader of the same bytes
// (remote reads cache it per object, so a repeated open fetches nothing).
struct SeekTable {
  std::vector<uint64_t> c;          // c[i] = compressed offset of frame i; c[N] = table start
  std::vector<uint64_t> d;          // d[i] = decompressed offset of frame i; d[N] = total
  std::vector<uint32_t> checksums;  // empty when the table has none
  uint64_t file_size = 0;           // compressed bytes of the whole file, table included
};

// Reads frames of a seekable file through a RandomAccessFile it owns.
class SeekableReader {
 public:
  // Loads and validates the seek table. Corruption if the file is not seekable
  // zstd, the table is malformed, or frames and table disagree on the size.
  static Result<std::unique_ptr<SeekableReader>> Open(std::unique_ptr<io::RandomAccessFile> file);
  // Uses an already loaded table (from Open of the same bytes); reads nothing.
  // InvalidArgument when the file's size differs from the table's.
  static Result<std::unique_ptr<SeekableReader>> Open(std::unique_ptr<io::RandomAccessFile> file,
                                                      std::shared_ptr<const SeekTable> table);

  const std::shared_ptr<const SeekTable>& table() const { return t_; }
  uint64_t DecompressedSize() const { return d_.back(); }
  size_t FrameCount() const { return d_.size() - 1; }
  // Index of the frame holding decompressed offset `pos` (< DecompressedSize()).
  size_t FrameOf(uint64_t pos) const;
  uint64_t FrameStart(size_t i) const { return d_[i]; }  // decompressed offset
  uint64_t FrameSize(size_t i) const { return d_[i + 1] - d_[i]; }
  // Bytes frame i occupies on disk (what ReadFrame(i) reads), from file offset CompressedFrameStart(i).
  uint64_t CompressedFrameSize(size_t i) const { return c_[i + 1] - c_[i]; }
  uint64_t CompressedFrameStart(size_t i) const { return c_[i]; }

  // The last skippable frame with this magic: its payload's file offset and
  // size. NotFound when there is none.
  struct Skippable {
    uint64_t offset = 0;  // of the payload, after the frame's 8-byte header
    uint64_t size = 0;
  };
  Result<Skippable> FindSkippable(uint32_t magic) const;
  // Reads n bytes at file offset `offset` (Corruption when the file is short).
  Status ReadRaw(uint64_t offset, size_t n, char* out) const;

  // Decompresses frame i into *out (resized to FrameSize(i)); checks the
  // length and, when the table has them, the checksum (Corruption otherwise).
  Status ReadFrame(size_t i, std::string* out) const;

  SeekableReader(const SeekableReader&) = delete;
  SeekableReader& operator=(const SeekableReader&) = delete;
  ~SeekableReader();

 private:
  SeekableReader(std::unique_ptr<io::RandomAccessFile> file, std::shared_ptr<const SeekTable> t);
  std::unique_ptr<io::RandomAccessFile> file_;
  std::shared_ptr<const SeekTable> t_;
  // Aliases into *t_, so the accessors read as before.
  const std::vector<uint64_t>& c_;
  const std::vector<uint64_t>& d_;
  const std::vector<uint32_t>& checksums_;
};

}  // namespace loge::storage
