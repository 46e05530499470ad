// Record framing and file naming of the write-ahead log (docs/format-wal.md).
//
// Thread-safety: pure functions.
//
// A record is
//   [u32 length][u32 masked crc32c][u64 seq][payload: length bytes]
// all little-endian; the crc covers the 8 seq bytes then the payload, and is
// stored masked (crc32c::Mask). Files are named <20-digit first seq>.wal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace loge::wal {

// Bumped when the record or file layout changes (docs/format-wal.md).
inline constexpr int kFormatVersion = 1;

inline constexpr size_t kHeaderBytes = 16;  // length + crc + seq

// A larger length can only be garbage: no push is near this size, and it
// bounds the buffer a corrupt header can make replay allocate.
inline constexpr uint32_t kMaxPayloadBytes = 1u << 30;  // 1 GiB

inline constexpr std::string_view kFileSuffix = ".wal";
inline constexpr size_t kFileSeqDigits = 20;  // fits any uint64_t

struct RecordHeader {
  uint32_t length = 0;      // payload bytes
  uint32_t masked_crc = 0;  // crc32c::Mask of the crc over seq bytes + payload
  uint64_t seq = 0;
};

// Appends the framed record to *out. payload.size() must be <= kMaxPayloadBytes.
void AppendRecord(uint64_t seq, std::string_view payload, std::string* out);

// Decodes the kHeaderBytes at p (no validation).
RecordHeader DecodeHeader(const char* p);

// True when the header's crc matches its seq and this payload.
bool CrcMatches(const RecordHeader& h, std::string_view payload);

// "00000000000000000042.wal" for 42.
std::string FileName(uint64_t first_seq);

// Parses a name made by FileName; false for anything else (exactly 20 digits
// then ".wal", so "42.wal" or "x.wal.tmp" are not WAL files).
bool ParseFileName(std::string_view name, uint64_t* first_seq);

}  // namespace loge::wal
