// FuseFilter: an immutable binary fuse filter (Graf & Lemire 2022), 3-wise,
// 8-bit fingerprints ("BinaryFuse8"), built from a set of 64-bit keys. It
// answers "may this key be in the set?" with no false negatives and a
// false-positive rate of about 2^-8 (0.39%), at about 9 bits per key for large
// sets. See ../shared/specs/binary-fuse-filter.md for the algorithm.
//
// Thread-safety: immutable after Build/Deserialize; MayContain may be called
// from many threads. The static functions are pure.
//
// Serialized layout, version 1 (all integers little-endian):
//
//   offset  size  field
//   0       4     magic "LFF1"
//   4       1     version = 1
//   5       1     fingerprint bits = 8
//   6       2     reserved, 0
//   8       8     seed: the hash seed the construction succeeded with
//   16      4     n: number of distinct keys (0 = the empty filter)
//   20      4     segment length L (a power of two, 4..262144)
//   24      4     segment count S (>= 1)
//   28      4     array length A = (S + 2) * L fingerprint cells; 0 when n = 0
//   32      8     checksum: XXH3-64 of the A fingerprint bytes, seeded with the
//                 XXH3-64 of bytes [0, 32)
//   40      A     fingerprints, one byte per cell
//
// Invariants checked by Validate/Deserialize (a failure is Corruption):
//   1. The byte string is exactly 40 + A bytes long.
//   2. magic, version, fingerprint bits and reserved hold the values above.
//   3. L, S and A equal the values re-derived from n (spec section 2) or
//      their halved layout (HalvedParams: L/2, 2S + 2, the same A), so every
//      lookup position is inside the fingerprint array.
//   4. The checksum matches, so a flipped bit cannot cause a false negative.
// A format change bumps the version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace loge::storage {

class FuseFilter {
 public:
  // The largest key set Build accepts: keeps A below 2^32 cells (about
  // 1.2 GiB of fingerprints, far beyond any one segment).
  static constexpr size_t kMaxKeys = size_t{1} << 30;
  // The serialized header in front of the fingerprints.
  static constexpr size_t kHeaderSize = 40;

  // The shape of a filter for n <= kMaxKeys distinct keys (spec section 2).
  struct Params {
    uint32_t segment_length = 0;  // L, cells per segment
    uint32_t segment_count = 0;   // S, segments a first position may fall in
    uint32_t array_length = 0;    // A = (S + 2) * L cells; 0 for n = 0
  };
  static Params ParamsFor(uint32_t n);
  // The same cells cut into segments of half the length (2S + 2 of L/2):
  // the layout Build falls back to where ParamsFor's rarely peels. Validate
  // accepts either; lookups read the layout from the header.
  static Params HalvedParams(const Params& p);

  // An empty filter: contains nothing.
  FuseFilter() = default;

  // Builds a filter holding `keys`; duplicates are allowed (removed first).
  // InvalidArgument if there are more than kMaxKeys distinct keys;
  // ResourceExhausted if construction fails with 100 different seeds, a
  // quarter of them in the halved layout (for distinct keys one of the two
  // layouts peels with probability > 1/2 per seed, so this means a bug
  // rather than bad luck).
  static Result<FuseFilter> Build(std::vector<uint64_t> keys);

  // False means the key was certainly not in the built set.
  bool MayContain(uint64_t key) const;

  // The serialized form described at the top of this file.
  std::string Serialize() const;
  // Parses and validates a serialized filter; Corruption on any malformed or
  // truncated input.
  static Result<FuseFilter> Deserialize(std::string_view bytes);
  // The checks Deserialize does, without copying the fingerprints.
  static Status Validate(std::string_view bytes);
  // MayContain on serialized bytes, without copying them. Precondition: the
  // bytes passed Validate (or Deserialize). Bytes that are not even
  // structurally sound answer true (never a false negative, never an
  // out-of-bounds read); flipped fingerprint bits are only caught by Validate.
  static bool MayContainSerialized(std::string_view bytes, uint64_t key);

  // Length of Serialize()'s output: kHeaderSize + one byte per cell.
  size_t SizeBytes() const { return kHeaderSize + fingerprints_.size(); }
  // Number of distinct keys the filter was built from.
  uint32_t KeyCount() const { return n_; }

  uint64_t TEST_Seed() const { return seed_; }
  // The hash of a key under a seed (spec section 1 "mix"), for test vectors.
  static uint64_t TEST_Mix(uint64_t key, uint64_t seed);

 private:
  uint64_t seed_ = 0;
  uint32_t n_ = 0;                   // distinct keys; 0 = empty filter
  Params params_ = ParamsFor(0);     // ParamsFor(n_) or its halved layout
  std::vector<uint8_t> fingerprints_;  // params_.array_length cells
};

}  // namespace loge::storage
