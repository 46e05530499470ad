#include "storage/fuse_filter.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

namespace loge::storage {
namespace {

constexpr char kMagic[4] = {'L', 'F', 'F', '1'};
constexpr uint8_t kVersion = 1;
constexpr uint8_t kFingerprintBits = 8;
// Construction gives up after this many seeds; each succeeds with p > 1/2.
constexpr int kMaxAttempts = 100;
// The splitmix64 state the seed sequence starts from (spec 5.1), so builds
// are deterministic: the first seed is always 0x6df6b22537d23467.
constexpr uint64_t kSeedStreamStart = 0x726b2b9d438b9d4dULL;
// Segments longer than this stop paying off (spec section 2).
constexpr uint32_t kMaxSegmentLength = 262144;

// Header field offsets; see the layout in fuse_filter.h.
constexpr size_t kOffVersion = 4;
constexpr size_t kOffBits = 5;
constexpr size_t kOffReserved = 6;
constexpr size_t kOffSeed = 8;
constexpr size_t kOffN = 16;
constexpr size_t kOffSegmentLength = 20;
constexpr size_t kOffSegmentCount = 24;
constexpr size_t kOffArrayLength = 28;
constexpr size_t kOffChecksum = 32;
constexpr size_t kChecksummedHeader = 32;
static_assert(kOffChecksum + 8 == FuseFilter::kHeaderSize);

uint64_t Murmur64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Key + seed then the murmur finalizer: both steps are bijections, so
// distinct keys always get distinct hashes under one seed.
uint64_t Mix(uint64_t key, uint64_t seed) { return Murmur64(key + seed); }

uint64_t SplitMix64(uint64_t* state) {
  *state += 0x9E3779B97F4A7C15ULL;
  uint64_t z = *state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint8_t Fingerprint(uint64_t hash) { return static_cast<uint8_t>(hash ^ (hash >> 32)); }

uint64_t MulHi(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
}

// The three cells of a hash. h0 falls in the first S segments; h1 and h2 are
// in the next segment and the one after it (XOR only touches bits below L).
struct Positions {
  uint32_t h[3];
};

inline Positions PositionsOf(uint64_t hash, uint32_t segment_length, uint64_t segment_count_length) {
  const uint32_t mask = segment_length - 1;
  const uint32_t h0 = static_cast<uint32_t>(MulHi(hash, segment_count_length));
  Positions p;
  p.h[0] = h0;
  p.h[1] = (h0 + segment_length) ^ (static_cast<uint32_t>(hash >> 18) & mask);
  p.h[2] = (h0 + 2 * segment_length) ^ (static_cast<uint32_t>(hash) & mask);
  return p;
}

inline bool Lookup(const uint8_t* fingerprints, uint64_t seed, uint32_t segment_length,
                   uint32_t segment_count, uint64_t key) {
  const uint64_t hash = Mix(key, seed);
  const Positions p =
      PositionsOf(hash, segment_length, uint64_t{segment_count} * segment_length);
  return (Fingerprint(hash) ^ fingerprints[p.h[0]] ^ fingerprints[p.h[1]] ^
          fingerprints[p.h[2]]) == 0;
}

uint32_t LoadLE32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

uint64_t LoadLE64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

void StoreLE32(char* p, uint32_t v) {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}

void StoreLE64(char* p, uint64_t v) {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}

uint64_t Checksum(const char* header, const uint8_t* fingerprints, size_t n) {
  return XXH3_64bits_withSeed(fingerprints, n, XXH3_64bits(header, kChecksummedHeader));
}

// Scratch space for one construction, reused across seeds.
struct Peeler {
  // Per cell: upper 6 bits = number of unpeeled keys in the cell, lower 2
  // bits = XOR of those keys' slot indexes (0, 1 or 2) for this cell.
  std::vector<uint8_t> count;
  std::vector<uint64_t> xor_hash;  // per cell: XOR of the unpeeled keys' hashes
  std::vector<uint32_t> alone;     // queue of cells that had count 1
  std::vector<uint64_t> stack_hash;  // peeled keys, in peel order
  std::vector<uint8_t> stack_slot;   // the slot each peeled key was peeled by
};

// Orders the hashes of `keys` by their top bits, i.e. by the segment of their
// first cell, so the adding pass walks the scratch arrays almost in order
// (a cache optimisation only; any order gives a correct filter).
void HashInSegmentOrder(const std::vector<uint64_t>& keys, uint64_t seed, uint32_t segment_count,
                        std::vector<uint64_t>* tmp, std::vector<uint64_t>* out) {
  int block_bits = 1;
  while ((uint64_t{1} << block_bits) < segment_count) ++block_bits;
  const int shift = 64 - block_bits;
  std::vector<uint32_t> start((size_t{1} << block_bits) + 1, 0);
  for (size_t i = 0; i < keys.size(); ++i) {
    const uint64_t h = Mix(keys[i], seed);
    (*tmp)[i] = h;
    ++start[(h >> shift) + 1];
  }
  for (size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
  for (uint64_t h : *tmp) (*out)[start[h >> shift]++] = h;
}

// One construction attempt with `seed`: on success fills `fingerprints`.
bool TryBuild(const std::vector<uint64_t>& keys, uint64_t seed, const FuseFilter::Params& params,
              Peeler* pl, std::vector<uint64_t>* tmp, std::vector<uint64_t>* hashes,
              std::vector<uint8_t>* fingerprints) {
  const uint32_t length = params.segment_length;
  const uint64_t count_length = uint64_t{params.segment_count} * length;
  const size_t n = keys.size();
  HashInSegmentOrder(keys, seed, params.segment_count, tmp, hashes);

  std::fill(pl->count.begin(), pl->count.end(), 0);
  std::fill(pl->xor_hash.begin(), pl->xor_hash.end(), 0);
  for (uint64_t h : *hashes) {
    const Positions p = PositionsOf(h, length, count_length);
    bool overflow = false;
    for (uint8_t j = 0; j < 3; ++j) {
      uint8_t& c = pl->count[p.h[j]];
      c = static_cast<uint8_t>((c + 4) ^ j);
      overflow |= c < 4;  // the 6-bit key counter wrapped: > 63 keys in a cell
      pl->xor_hash[p.h[j]] ^= h;
    }
    if (overflow) return false;
  }

  size_t queued = 0;
  for (uint32_t i = 0; i < params.array_length; ++i) {
    if ((pl->count[i] >> 2) == 1) pl->alone[queued++] = i;
  }
  // A cell enters the queue at most once: at the start with count 1, or when
  // its count drops from 2 to 1 (counts only fall). So `alone` never overflows.
  size_t peeled = 0;
  while (queued > 0) {
    const uint32_t cell = pl->alone[--queued];
    if ((pl->count[cell] >> 2) != 1) continue;  // emptied since it was queued
    const uint64_t h = pl->xor_hash[cell];
    const uint8_t slot = pl->count[cell] & 3;
    pl->stack_hash[peeled] = h;
    pl->stack_slot[peeled] = slot;
    ++peeled;
    const Positions p = PositionsOf(h, length, count_length);
    for (uint8_t j = 0; j < 3; ++j) {
      uint8_t& c = pl->count[p.h[j]];
      if (j != slot && (c >> 2) == 2) pl->alone[queued++] = p.h[j];
      c = static_cast<uint8_t>((c - 4) ^ j);
      pl->xor_hash[p.h[j]] ^= h;
    }
  }
  if (peeled != n) return false;  // a 2-core is left: try another seed

  // Assign in reverse peel order: when a key is assigned, the cells of keys
  // peeled before it are still free, and its own peel cell is touched by no
  // key assigned after it, so its XOR stays equal to its fingerprint.
  fingerprints->assign(params.array_length, 0);
  uint8_t* f = fingerprints->data();
  for (size_t s = n; s-- > 0;) {
    const uint64_t h = pl->stack_hash[s];
    const uint8_t slot = pl->stack_slot[s];
    const Positions p = PositionsOf(h, length, count_length);
    f[p.h[slot]] = Fingerprint(h) ^ f[p.h[(slot + 1) % 3]] ^ f[p.h[(slot + 2) % 3]];
  }
  return true;
}

}  // namespace

FuseFilter::Params FuseFilter::ParamsFor(uint32_t n) {
  LOGE_ASSERT(n <= kMaxKeys, "BUG: fuse filter shape asked for more than kMaxKeys keys");
  Params p;
  if (n == 0) {
    // The empty filter stores no cells; lookups answer false from n alone.
    p.segment_length = 4;
    p.segment_count = 1;
    p.array_length = 0;
    return p;
  }
  // floor, not round: construction time is very sensitive to L (spec 2).
  const int exp = static_cast<int>(std::floor(std::log(double(n)) / std::log(3.33) + 2.25));
  p.segment_length = std::min<uint32_t>(uint32_t{1} << std::min(exp, 30), kMaxSegmentLength);
  uint64_t capacity = 0;
  if (n > 1) {
    const double size_factor =
        std::max(1.125, 0.875 + 0.25 * std::log(1e6) / std::log(double(n)));
    capacity = static_cast<uint64_t>(std::round(double(n) * size_factor));
  }
  const uint64_t segments = (capacity + p.segment_length - 1) / p.segment_length;
  p.segment_count = segments <= 2 ? 1 : static_cast<uint32_t>(segments - 2);
  p.array_length = (p.segment_count + 2) * p.segment_length;
  return p;
}

FuseFilter::Params FuseFilter::HalvedParams(const Params& p) {
  if (p.segment_length < 8 || p.array_length == 0) return p;
  Params h;
  h.segment_length = p.segment_length / 2;
  h.segment_count = 2 * p.segment_count + 2;
  h.array_length = (h.segment_count + 2) * h.segment_length;  // == p.array_length
  return h;
}

uint64_t FuseFilter::TEST_Mix(uint64_t key, uint64_t seed) { return Mix(key, seed); }

Result<FuseFilter> FuseFilter::Build(std::vector<uint64_t> keys) {
  // Deduplicate first: then all hashes under a seed are distinct (Mix is a
  // bijection) and the peeling never meets a repeated hash.
  // Callers often pass sorted, deduplicated keys already: skip the sort then.
  if (!std::is_sorted(keys.begin(), keys.end())) std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  if (keys.size() > kMaxKeys) {
    return Status::InvalidArgument("fuse filter: " + std::to_string(keys.size()) +
                                   " distinct keys, more than the limit of " +
                                   std::to_string(kMaxKeys));
  }
  FuseFilter filter;
  filter.n_ = static_cast<uint32_t>(keys.size());
  filter.params_ = ParamsFor(filter.n_);
  uint64_t rng = kSeedStreamStart;
  if (keys.empty()) {
    filter.seed_ = SplitMix64(&rng);
    return filter;
  }

  const size_t cells = filter.params_.array_length;
  Peeler pl;
  pl.count.resize(cells);
  pl.xor_hash.resize(cells);
  pl.alone.resize(cells);
  pl.stack_hash.resize(keys.size());
  pl.stack_slot.resize(keys.size());
  std::vector<uint64_t> tmp(keys.size()), hashes(keys.size());
  // Just past the step of L to 1024 (about 11,480..11,520 keys) twelve
  // segments of 1024 cells peel with well under 1% per seed. Every fourth
  // seed therefore tries the same cells cut into segments of half the
  // length, which peels there; the header records the layout that worked.
  const Params standard = filter.params_;
  const Params halved = HalvedParams(standard);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    const uint64_t seed = SplitMix64(&rng);
    const Params& shape = attempt % 4 == 3 ? halved : standard;
    if (TryBuild(keys, seed, shape, &pl, &tmp, &hashes, &filter.fingerprints_)) {
      filter.seed_ = seed;
      filter.params_ = shape;
      return filter;
    }
  }
  return Status::ResourceExhausted("fuse filter: construction failed for " +
                                   std::to_string(keys.size()) + " keys after " +
                                   std::to_string(kMaxAttempts) + " seeds");
}

bool FuseFilter::MayContain(uint64_t key) const {
  if (n_ == 0) return false;
  return Lookup(fingerprints_.data(), seed_, params_.segment_length, params_.segment_count, key);
}

std::string FuseFilter::Serialize() const {
  std::string out(SizeBytes(), '\0');
  char* p = out.data();
  std::memcpy(p, kMagic, 4);
  p[kOffVersion] = static_cast<char>(kVersion);
  p[kOffBits] = static_cast<char>(kFingerprintBits);
  StoreLE64(p + kOffSeed, seed_);
  StoreLE32(p + kOffN, n_);
  StoreLE32(p + kOffSegmentLength, params_.segment_length);
  StoreLE32(p + kOffSegmentCount, params_.segment_count);
  StoreLE32(p + kOffArrayLength, params_.array_length);
  if (!fingerprints_.empty()) {
    std::memcpy(p + kHeaderSize, fingerprints_.data(), fingerprints_.size());
  }
  StoreLE64(p + kOffChecksum, Checksum(p, fingerprints_.data(), fingerprints_.size()));
  return out;
}

Status FuseFilter::Validate(std::string_view bytes) {
  auto bad = [](const std::string& what) { return Status::Corruption("fuse filter: " + what); };
  if (bytes.size() < kHeaderSize) {
    return bad(std::to_string(bytes.size()) + " bytes, shorter than the " +
               std::to_string(kHeaderSize) + "-byte header");
  }
  const char* p = bytes.data();
  if (std::memcmp(p, kMagic, 4) != 0) return bad("bad magic");
  if (static_cast<uint8_t>(p[kOffVersion]) != kVersion) {
    return bad("unknown version " + std::to_string(static_cast<uint8_t>(p[kOffVersion])));
  }
  if (static_cast<uint8_t>(p[kOffBits]) != kFingerprintBits) {
    return bad("unsupported fingerprint bits " + std::to_string(static_cast<uint8_t>(p[kOffBits])));
  }
  if (p[kOffReserved] != 0 || p[kOffReserved + 1] != 0) return bad("reserved bytes not zero");
  const uint32_t n = LoadLE32(p + kOffN);
  if (n > kMaxKeys) return bad("key count " + std::to_string(n) + " over the limit");
  const Params want = ParamsFor(n);
  const uint32_t length = LoadLE32(p + kOffSegmentLength);
  const uint32_t count = LoadLE32(p + kOffSegmentCount);
  const uint32_t array = LoadLE32(p + kOffArrayLength);
  const Params alt = HalvedParams(want);
  const bool standard = length == want.segment_length && count == want.segment_count && array == want.array_length;
  const bool halved = length == alt.segment_length && count == alt.segment_count && array == alt.array_length;
  if (!standard && !halved) {
    return bad("shape L=" + std::to_string(length) + " S=" + std::to_string(count) +
               " A=" + std::to_string(array) + " does not match " + std::to_string(n) + " keys");
  }
  if (bytes.size() != kHeaderSize + array) {
    return bad(std::to_string(bytes.size()) + " bytes, want " +
               std::to_string(kHeaderSize + array));
  }
  const auto* cells = reinterpret_cast<const uint8_t*>(p + kHeaderSize);
  if (LoadLE64(p + kOffChecksum) != Checksum(p, cells, array)) return bad("checksum mismatch");
  return Status::OK();
}

Result<FuseFilter> FuseFilter::Deserialize(std::string_view bytes) {
  LOGE_RETURN_IF_ERROR(Validate(bytes));
  FuseFilter filter;
  const char* p = bytes.data();
  filter.seed_ = LoadLE64(p + kOffSeed);
  filter.n_ = LoadLE32(p + kOffN);
  filter.params_.segment_length = LoadLE32(p + kOffSegmentLength);
  filter.params_.segment_count = LoadLE32(p + kOffSegmentCount);
  filter.params_.array_length = LoadLE32(p + kOffArrayLength);
  const auto* cells = reinterpret_cast<const uint8_t*>(p + kHeaderSize);
  filter.fingerprints_.assign(cells, cells + filter.params_.array_length);
  return filter;
}

bool FuseFilter::MayContainSerialized(std::string_view bytes, uint64_t key) {
  if (bytes.size() < kHeaderSize) return true;
  const char* p = bytes.data();
  if (LoadLE32(p + kOffN) == 0) return false;
  const uint32_t length = LoadLE32(p + kOffSegmentLength);
  const uint32_t count = LoadLE32(p + kOffSegmentCount);
  const uint32_t array = LoadLE32(p + kOffArrayLength);
  // Cheap structural guard so unvalidated bytes cannot read out of bounds.
  // (not std::has_single_bit: without -mpopcnt that is a libgcc call)
  if (length == 0 || (length & (length - 1)) != 0 || count == 0 ||
      (uint64_t{count} + 2) * length != array || bytes.size() - kHeaderSize < array) {
    return true;
  }
  return Lookup(reinterpret_cast<const uint8_t*>(p + kHeaderSize), LoadLE64(p + kOffSeed), length,
                count, key);
}

}  // namespace loge::storage
