// CRC-32C (Castagnoli), the checksum of WAL records.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace loge::crc32c {

// Extends `crc` (0 to start) over data[0, n).
uint32_t Extend(uint32_t crc, const void* data, size_t n);
inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }
// The table-driven version, used when the CPU has no CRC instruction (and by
// tests, to check both agree).
uint32_t ExtendSoftware(uint32_t crc, const void* data, size_t n);

// A stored CRC is masked so that a CRC over bytes that themselves contain an
// embedded CRC does not degrade (the LevelDB trick).
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t Unmask(uint32_t m) {
  uint32_t rot = m - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace loge::crc32c
